export { ProviderModuleError, loadProviderModules, providerShapeProblems } from './loader.js';
export type { LoadProviderModulesOptions, LoadedProvider, ProviderModuleProblem } from './loader.js';
