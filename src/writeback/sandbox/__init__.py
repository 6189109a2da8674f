"""Provider emulators (Salesforce, HubSpot) for tests, demos, benchmarks and CI."""
