"""Provisioning: from a signup to a customer with a Stripe customer, an API key and credits."""
