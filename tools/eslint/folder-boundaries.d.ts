import type { Rule } from 'eslint';

export declare const folderBoundaries: Rule.RuleModule;
declare const plugin: { rules: { 'folder-boundaries': Rule.RuleModule } };
export default plugin;
