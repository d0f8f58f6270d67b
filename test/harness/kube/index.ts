export {
  startKubeApiServer,
  type KubeApiServer,
  type KubeApiServerOptions,
  type ServiceAccountTokenOptions,
  type ClientCertificate,
} from './api-server.js';
export { apiRequest, type ApiRequestOptions, type ApiResponse } from './http.js';
export { tokenKubeconfig, writeTokenKubeconfig, type TokenKubeconfig } from './kubeconfig.js';
export { createKubePki, SERVING_CERT_NAMES, type KubePki } from './pki.js';
export { runTool, ToolCommandError, type ToolResult, type ToolRunOptions } from './run-tool.js';
export {
  BUILD_COMMAND,
  findKubeTools,
  KUBE_TOOL_NAMES,
  KubeToolsMissingError,
  kubeToolsBinDir,
  type KubeToolName,
  type KubeToolPaths,
} from './tools.js';
