"""Provider webhooks: signature checks and the HTTP routes that receive them."""
