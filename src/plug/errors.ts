/** Errors of the provider registry; each names the provider type (or value) at fault. */

export class ProviderRegistryError extends Error {
  override readonly name: string = 'ProviderRegistryError';
}

/** `register()` of a type that is already registered (upstream: EEXIST). */
export class DuplicateProviderError extends ProviderRegistryError {
  override readonly name = 'DuplicateProviderError';
  constructor(readonly providerType: string) {
    super(`a provider of type ${JSON.stringify(providerType)} is already registered`);
  }
}

/** `unregister()` of a type that is not registered (upstream: EINVAL). */
export class UnknownProviderError extends ProviderRegistryError {
  override readonly name = 'UnknownProviderError';
  constructor(readonly providerType: string) {
    super(`no provider of type ${JSON.stringify(providerType)} is registered`);
  }
}

/** `register()` of a value that does not implement the provider contract. */
export class InvalidProviderError extends ProviderRegistryError {
  override readonly name = 'InvalidProviderError';
}
