"""Provider adapters: the only code that knows a provider's wire protocol."""
