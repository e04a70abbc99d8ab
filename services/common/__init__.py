"""Code every service shares: settings, topics, schemas, records and Kafka clients."""
