//! The who-is-calling hook: asked once per arriving caller, before the caller is queued.
//! The phone book fills it in; until then every caller is unknown with normal priority.

/// What is known about a caller.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Identity {
    /// A name to show (and to put on the agent's phone), when better than the caller id.
    pub label: Option<String>,
    /// Added to the caller's queue priority (a VIP rises).
    pub priority: i32,
}

pub trait CallerIdentity: Send + Sync + 'static {
    /// Must answer from memory: it runs on the engine's task for every arrival.
    fn identify(&self, number: &str, name: &str) -> Identity;
}

/// Nobody is known.
pub struct Unknown;

impl CallerIdentity for Unknown {
    fn identify(&self, _number: &str, _name: &str) -> Identity {
        Identity::default()
    }
}
