//! The outbox worker: sends what is due, records what the server said, sleeps until the next
//! mail is due or until it is woken. The database is the queue, so a mail queued before a
//! restart, or while the SMTP server was down, goes out later; a mail leaves the outbox (state
//! `sent`) only after the server accepted it.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use super::smtp::{Attached, MailError, SmtpMailer};
use crate::clock;
use crate::store::{OutboxMail, Store};

/// Mails read from the database per round.
const BATCH: u32 = 32;
/// Even with nothing due, look again this often (mails queued by another process).
const IDLE_POLL: Duration = Duration::from_secs(30);

/// How failed attempts are retried: `initial`, doubling up to `max`; after `max_attempts`
/// failures the mail is `failed` until someone retries it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    pub initial: Duration,
    pub max: Duration,
    pub max_attempts: u32,
}

impl RetryPolicy {
    /// The wait after the `failures`-th failed attempt (1 = the first).
    pub fn delay(&self, failures: u32) -> Duration {
        crate::backoff::base(self.initial, self.max, failures.saturating_sub(1))
    }
}

/// Wakes the worker when a mail was queued; cheap to clone. A wake with nobody waiting is
/// kept, so a mail queued while the worker is busy is not left until the next poll.
#[derive(Clone, Debug, Default)]
pub struct Outbox {
    wake: Arc<Notify>,
}

impl Outbox {
    pub fn new() -> Outbox {
        Outbox::default()
    }

    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

/// Runs until the task is dropped. Never returns on its own: a database or SMTP outage is
/// logged and waited out.
pub async fn run_outbox(store: Store, mailer: SmtpMailer, policy: RetryPolicy, outbox: Outbox) {
    loop {
        let mut wait = IDLE_POLL;
        match store.due_mails(clock::now(), BATCH).await {
            Ok(mails) => {
                let full = mails.len() == BATCH as usize;
                let mut recorded = true;
                for mail in mails {
                    recorded &= deliver(&store, &mailer, &policy, mail).await;
                }
                if !recorded {
                    // The database failed us mid-round: the same mails are still due, so
                    // wait instead of asking again at once.
                    wait_out(&outbox, policy.initial.max(Duration::from_secs(1))).await;
                    continue;
                }
                if full {
                    continue;
                }
                match store.next_mail_due().await {
                    Ok(Some(at)) => {
                        wait = wait.min(clock::wait(clock::now(), at));
                    }
                    Ok(None) => {}
                    Err(e) => tracing::warn!("outbox: cannot read the next due mail: {e}"),
                }
            }
            Err(e) => {
                tracing::warn!("outbox: cannot read due mails: {e}");
                wait = policy.initial.max(Duration::from_secs(1));
            }
        }
        if !wait.is_zero() {
            wait_out(&outbox, wait).await;
        }
    }
}

/// Sleeps for `wait`, or less if a mail is queued meanwhile.
async fn wait_out(outbox: &Outbox, wait: Duration) {
    tokio::select! {
        () = tokio::time::sleep(wait) => {}
        () = outbox.wake.notified() => {}
    }
}

/// One attempt at one mail, and its outcome recorded; false if the database could not be
/// read or written (the mail stays due).
async fn deliver(
    store: &Store,
    mailer: &SmtpMailer,
    policy: &RetryPolicy,
    mail: OutboxMail,
) -> bool {
    let attached = match mail.attachment_file_id {
        None => None,
        Some(id) => match store.file(id).await {
            Ok(Some((file, content))) => Some(Attached {
                name: file.name,
                content_type: file.content_type,
                content,
            }),
            // Deleted by an operator: the text still says what arrived.
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(mail = mail.id, "outbox: cannot read attachment {id}: {e}");
                return false;
            }
        },
    };
    let attempts = mail.attempts.saturating_add(1);
    let now = clock::now();
    match mailer.send(&mail, attached).await {
        Ok(()) => {
            tracing::info!(mail = mail.id, key = %mail.dedupe_key, attempts, "mail accepted by the SMTP server");
            if let Err(e) = store.mail_sent(mail.id, attempts, now).await {
                // It will be sent again, with the same Message-ID.
                tracing::error!(
                    mail = mail.id,
                    "outbox: mail sent but not recorded as sent: {e}"
                );
                return false;
            }
            true
        }
        Err(error) => {
            let retry_at = (!error.is_permanent() && attempts < policy.max_attempts)
                .then(|| now.saturating_add(clock::span(policy.delay(attempts))));
            match retry_at {
                Some(_) => tracing::warn!(
                    mail = mail.id,
                    attempts,
                    "mail not sent, will retry: {error}"
                ),
                None => tracing::error!(
                    mail = mail.id,
                    attempts,
                    "mail not sent, giving up: {error}"
                ),
            }
            let text = describe(&error);
            if let Err(e) = store
                .mail_attempt_failed(mail.id, attempts, retry_at, &text)
                .await
            {
                tracing::warn!(
                    mail = mail.id,
                    "outbox: cannot record the failed attempt: {e}"
                );
                return false;
            }
            true
        }
    }
}

/// The error as stored for operators; bounded, since a server's reply can be long.
fn describe(error: &MailError) -> String {
    let mut text = error.to_string();
    if text.len() > 1000 {
        let mut end = 1000;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_up_to_the_cap() {
        let policy = RetryPolicy {
            initial: Duration::from_millis(100),
            max: Duration::from_millis(1000),
            max_attempts: 10,
        };
        let delays: Vec<u128> = (1..=6).map(|n| policy.delay(n).as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(policy.delay(u32::MAX), Duration::from_millis(1000));
    }
}
