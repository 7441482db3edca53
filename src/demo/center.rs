//! The demo's contact center as configuration, where the configuration file leaves it out:
//! a support queue with hold music, announcements, callbacks and an exit to voicemail; five
//! agents in two tiers; a phone book read in Russian, British and American numbers; a fax
//! spool that exists.

use std::ops::RangeInclusive;

use anyhow::Context;

use crate::acd::{AgentConfig, Membership, Overflow, QueueConfig};
use crate::config::Config;
use crate::fsarg::{Endpoint, Extension};

/// The demo agents' extensions (`user/1001@default` ... `user/1005@default`).
pub(super) const AGENT_EXTENSIONS: RangeInclusive<u32> = 1001..=1005;

/// Fills in what the demo needs and `config` does not say: its queue and agents (when no
/// queue is configured), the phone book's regions, the currency, and a fax spool.
pub(super) fn complete(config: &mut Config) -> anyhow::Result<()> {
    // The simulated switch writes no fax files of its own; a spool that exists keeps the
    // demo's log free of the warning a real service gives for a missing one.
    if !config.fax.spool_dir.is_dir() {
        let spool = std::env::temp_dir().join("switchdesk-demo-fax");
        std::fs::create_dir_all(&spool)
            .with_context(|| format!("creating the demo's fax spool {}", spool.display()))?;
        config.fax.spool_dir = spool;
    }
    // The demo's book holds Russian, British and American customers, as its teams' do.
    if config.phonebook.default_region.is_none() {
        config.phonebook.default_region = Some("RU".into());
        config.phonebook.regions = vec!["GB".into(), "US".into()];
    }
    // Its customers pay their fees in roubles.
    if config.service.currency.is_none() {
        config.service.currency = Some("RUB".to_owned().try_into().map_err(anyhow::Error::msg)?);
    }
    if config.queues.is_empty() {
        config.queues = vec![queue()];
        config.agents = AGENT_EXTENSIONS.map(agent).collect();
    }
    Ok(())
}

/// The demo's support line: hold music from a tone (the simulator has no sound files),
/// announcements, a callback key, an exit to voicemail and the survey after the call.
fn queue() -> QueueConfig {
    let mut queue = QueueConfig::named("support");
    // Literals, checked by `tests::the_demo_queue_is_valid`.
    queue.prompts.hold_music = "tone_stream://%(1000,4000,440);loops=-1"
        .parse()
        .expect("a tone_stream:// literal");
    queue.max_wait_secs = 300;
    let voicemail: Extension = "voicemail".parse().expect("an extension literal");
    queue.overflow = Overflow::Extension(voicemail.clone());
    queue.callbacks.key = Some('1');
    // The simulated PSTN: every caller of the synthetic day can be called back there.
    queue.callbacks.dial = "user/{number}@pstn".parse().expect("a dial literal");
    queue.exit_key = Some('0');
    queue.exit_extension = Some(voicemail);
    queue.wrap_up_secs = 5;
    // Callers the agent hangs up on rate the call (the synthetic ones answer most surveys).
    queue.survey = true;
    queue
}

/// A demo agent on `user/EXTENSION@default`: the first four in tier 1, the fifth in tier 2.
fn agent(extension: u32) -> AgentConfig {
    AgentConfig {
        name: format!("agent{extension}"),
        endpoint: Endpoint::parse(&format!("user/{extension}@default"))
            .expect("digits make a dial string"),
        queues: vec![Membership {
            queue: "support".into(),
            tier: 1 + (extension - 1001) / 4,
            position: extension - 1000,
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_queue_is_valid() {
        assert_eq!(queue().problems(), Vec::<String>::new());
        assert!(AGENT_EXTENSIONS
            .map(agent)
            .all(|agent| agent.problems().is_empty()));
    }
}
