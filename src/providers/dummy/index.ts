export {
  DUMMY_OPTION_KEY,
  DUMMY_OPTION_VALUE,
  DUMMY_PROVIDER_TYPE,
  DummyProvider,
  MAX_INTERFACE_NAME_BYTES,
  dummyInterfaceName,
} from './dummy-provider.js';
