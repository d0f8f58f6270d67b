// Shared pieces of the benchmark programs (bench/*.ts).
export * from './agent.js';
export * from './headless.js';
export * from './monitor-capture.js';
export * from './probe.js';
export * from './proc.js';
export * from './stats.js';
export * from './topology.js';
