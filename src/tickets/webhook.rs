//! The hand-off to an external helpdesk: every ticket change is written to the webhook outbox
//! in the same transaction as the change, and this worker POSTs it as JSON until the helpdesk
//! answers 2xx, backing off between attempts. A delivery that keeps failing is given up after
//! `max_attempts` and stays visible (`GET /api/webhooks`).

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use crate::config::Secret;
use crate::store::{Store, StoreError, WebhookDelivery};

/// `[webhook]` in the configuration; no `url`, no hand-off.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookConfig {
    /// `https://helpdesk.example/hooks/switchdesk`; empty switches the hand-off off.
    pub url: String,
    /// Sent as `Authorization: Bearer <token>` when set.
    pub token: Secret,
    pub timeout_secs: u64,
    pub max_attempts: u32,
    pub backoff_initial_ms: u64,
    pub backoff_max_ms: u64,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            url: String::new(),
            token: Secret::default(),
            timeout_secs: 10,
            max_attempts: 20,
            backoff_initial_ms: 1_000,
            backoff_max_ms: 15 * 60_000,
        }
    }
}

impl WebhookConfig {
    pub fn enabled(&self) -> bool {
        !self.url.trim().is_empty()
    }

    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.enabled() && reqwest::Url::parse(&self.url).is_err() {
            problems.push(format!("webhook.url {:?} is not a URL", self.url));
        }
        if self.max_attempts == 0 || self.timeout_secs == 0 {
            problems
                .push("webhook.max_attempts and webhook.timeout_secs must be at least 1".into());
        }
        if self.backoff_initial_ms == 0 || self.backoff_max_ms < self.backoff_initial_ms {
            problems.push("webhook.backoff_initial_ms must be > 0 and <= backoff_max_ms".into());
        }
        problems
    }
}

/// Delivers due webhooks whenever `wake` is notified, and at least every second.
pub async fn deliver_forever(store: Store, config: WebhookConfig, wake: Arc<Notify>) {
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(config.timeout_secs))
        .build()
    {
        Ok(client) => client,
        Err(e) => {
            tracing::error!("webhook client could not be built: {e}");
            return;
        }
    };
    loop {
        match deliver_due(&store, &config, &client).await {
            Ok(n) if n > 0 => continue,
            Ok(_) => {}
            Err(e) => tracing::warn!("webhook outbox unreadable: {e}"),
        }
        tokio::select! {
            () = wake.notified() => {}
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

/// One pass over the due deliveries; returns how many were attempted.
pub async fn deliver_due(
    store: &Store,
    config: &WebhookConfig,
    client: &reqwest::Client,
) -> Result<usize, StoreError> {
    let due = store.due_webhooks(crate::clock::now(), 50).await?;
    for delivery in &due {
        match post(client, config, delivery).await {
            Ok(()) => {
                store
                    .webhook_delivered(delivery.id, crate::clock::now())
                    .await?
            }
            Err(error) => {
                let attempt = u32::try_from(delivery.attempts).unwrap_or(u32::MAX);
                let next = (attempt + 1 < config.max_attempts).then(|| {
                    let wait = crate::backoff::delay(
                        Duration::from_millis(config.backoff_initial_ms),
                        Duration::from_millis(config.backoff_max_ms),
                        attempt,
                    );
                    crate::clock::now().saturating_add(crate::clock::span(wait))
                });
                tracing::warn!(
                    delivery = delivery.id,
                    attempt = attempt + 1,
                    gave_up = next.is_none(),
                    "webhook delivery failed: {error}"
                );
                store.webhook_failed(delivery.id, &error, next).await?;
            }
        }
    }
    Ok(due.len())
}

async fn post(
    client: &reqwest::Client,
    config: &WebhookConfig,
    delivery: &WebhookDelivery,
) -> Result<(), String> {
    let mut request = client
        .post(&config.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("X-Switchdesk-Event", delivery.event.as_str())
        .header("Idempotency-Key", format!("switchdesk-{}", delivery.id))
        .body(delivery.payload.clone());
    if !config.token.is_empty() {
        request = request.bearer_auth(config.token.expose());
    }
    let response = request.send().await.map_err(|e| e.to_string())?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("helpdesk answered {}", response.status()))
    }
}
