"""WhatsApp (Cloud API) as a channel: webhooks in, Graph API messages out, a fake to test on."""
