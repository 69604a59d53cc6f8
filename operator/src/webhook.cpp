// Placeholder: implemented by the webhook/ownership work (operator/include/ebb/operator/webhook.h, ownership.h).
