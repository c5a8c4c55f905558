"""The partner gateway: partner systems' subscriptions to care events, projected to what each
partner may see and delivered by signed webhook, with retries, a delivery log and replay."""
