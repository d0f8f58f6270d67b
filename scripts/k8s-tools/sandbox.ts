/**
 * `bash scripts/k8s-tools.sh start`: a Kubernetes API server (etcd, kube-apiserver,
 * kube-controller-manager) for manual use, with the same setup the tests get. Prints how to
 * point kubectl and helm at it and runs until Ctrl-C or SIGTERM, then removes everything.
 */
import { startKubeApiServer } from '../../test/harness/kube/index.js';

const kube = await startKubeApiServer({ controllerManager: true });
const agentKubeconfig = await kube.agentKubeconfig('ovn-plug-agent', 'ovn-plug-agent');
console.log(`kube-apiserver ready at ${kube.url} (files in ${kube.dir})

  export KUBECONFIG=${kube.adminKubeconfig}
  export PATH=${kube.tools.binDir}:$PATH
  kubectl get --raw /version

Agent identity (system:serviceaccount:ovn-plug-agent:ovn-plug-agent, no permissions granted):
  ${agentKubeconfig}

Ctrl-C stops it and removes ${kube.dir}.`);

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  kube.stop().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error('stopping the sandbox failed:', error);
      process.exit(1);
    },
  );
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
