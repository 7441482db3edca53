//! The warm view: a standby shows what the leader shows. The leading switchboard publishes
//! its view (queues with their callers in order, agents, callers' identifications, the
//! latest callers and updates) to the shared database at most every [`PUBLISH_EVERY`] while
//! it changes, and every [`REFRESH_EVERY`] anyway so waits and the view's age stay current; a
//! standby reads it every [`READ_EVERY`] and answers the API's views and the live feed from it
//! until it leads itself.
//!
//! The view is the leader's own rather than one a standby rebuilds from FreeSWITCH's events:
//! only the leader knows which agent it offered a caller to, and why; a standby guessing from
//! events would show another board than the one being driven. The standby's event socket stays
//! connected and subscribed all the same, so taking the lead costs no connect.

use std::collections::VecDeque;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::*;

/// How often, at most, the leader publishes its view while it changes.
const PUBLISH_EVERY: Millis = 250;
/// How often the leader publishes its view when nothing changed (waits grow).
const REFRESH_EVERY: Millis = 1_000;
/// How often a standby looks for a newer view.
const READ_EVERY: Duration = Duration::from_millis(250);
/// The latest updates a published view carries, for the standbys' live feeds.
const UPDATES_KEPT: usize = 256;

/// What the leader's switchboard shows, as published.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LiveView {
    pub queues: Vec<QueueView>,
    pub agents: Vec<AgentView>,
    pub identities: HashMap<String, Identity>,
    /// The latest callers, newest last.
    pub recent: Vec<RecentCaller>,
    /// The leader's latest updates, numbered in the order they happened during its lead.
    pub updates: Vec<(u64, Update)>,
}

/// Whose view a switchboard answers with (`{"source": "own"}` or `{"source": "leader",
/// "instance": ..., "epoch": ..., "published_at": ...}` in the live feed's snapshot).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum ViewSource {
    /// Its own engine: driving the queues, or standing by with no leader's view yet (the
    /// stored settings and agents, no callers).
    Own,
    /// The leader's published view.
    Leader {
        instance: String,
        epoch: i64,
        published_at: Millis,
    },
}

impl ViewSource {
    /// As the `X-Switchdesk-View` header says it: `own`, or `leader` with who and when.
    pub fn header(&self) -> String {
        match self {
            ViewSource::Own => "own".to_owned(),
            ViewSource::Leader {
                instance,
                epoch,
                published_at,
            } => format!("leader; instance={instance}; epoch={epoch}; published_at={published_at}"),
        }
    }
}

/// The leader's view as a standby serves it.
pub(super) struct Mirror {
    pub(super) view: LiveView,
    pub(super) source: ViewSource,
}

/// What changed between two views a standby served: what its live feed sends.
#[derive(Clone, Debug, Default)]
pub struct MirrorChange {
    /// Queues whose view changed (or that were added or removed).
    pub queues: Vec<String>,
    /// Agents whose view changed, as they are now.
    pub agents: Vec<AgentView>,
    /// Agents whose phone started ringing, with the caller's call.
    pub ringing: Vec<(String, String)>,
    /// The leader's updates not yet passed on.
    pub updates: Vec<Update>,
}

impl MirrorChange {
    fn between(before: Option<&LiveView>, after: &LiveView) -> MirrorChange {
        let empty = LiveView::default();
        let before = before.unwrap_or(&empty);
        let mut queues: Vec<String> = after
            .queues
            .iter()
            .filter(|q| !before.queues.contains(q))
            .map(|q| q.name.clone())
            .collect();
        queues.extend(
            before
                .queues
                .iter()
                .filter(|q| !after.queues.iter().any(|a| a.name == q.name))
                .map(|q| q.name.clone()),
        );
        let was = |name: &str| before.agents.iter().find(|a| a.name == name);
        let agents: Vec<AgentView> = after
            .agents
            .iter()
            .filter(|a| was(&a.name) != Some(*a))
            .cloned()
            .collect();
        let ringing = agents
            .iter()
            .filter(|a| a.activity == "ringing")
            .filter(|a| was(&a.name).is_none_or(|w| w.activity != "ringing" || w.call != a.call))
            .filter_map(|a| Some((a.name.clone(), a.call.clone()?)))
            .collect();
        // Updates are passed on from the second view on: the first one's are history.
        let seen = before.updates.last().map(|(n, _)| *n);
        let updates = match seen {
            Some(seen) => after
                .updates
                .iter()
                .filter(|(n, _)| *n > seen)
                .map(|(_, u)| u.clone())
                .collect(),
            None => Vec::new(),
        };
        MirrorChange {
            queues,
            agents,
            ringing,
            updates,
        }
    }
}

/// The leader's side: what changed since the view was last published, and where it goes.
pub(super) struct Publishing {
    dirty: bool,
    last: Millis,
    next_update: u64,
    updates: VecDeque<(u64, Update)>,
    out: watch::Sender<Option<Arc<Publication>>>,
}

/// One view to publish.
pub(super) struct Publication {
    epoch: i64,
    at: Millis,
    view: LiveView,
}

impl Publishing {
    /// Publishing through `out`, which [`publish`] writes.
    pub(super) fn new(out: watch::Sender<Option<Arc<Publication>>>) -> Publishing {
        Publishing {
            dirty: true,
            last: 0,
            next_update: 1,
            updates: VecDeque::new(),
            out,
        }
    }
}

impl Switchboard {
    /// The epoch this instance leads for, when it leads among others (a single instance has
    /// nobody to publish to).
    fn publishing_epoch(&self) -> Option<i64> {
        match self.options.leadership.role() {
            Role::Leader { epoch } if self.driving => Some(epoch),
            _ => None,
        }
    }

    /// An update the engine made: kept for the next view.
    pub(super) fn note_for_standbys(&mut self, update: &Update) {
        if self.publishing_epoch().is_none() {
            return;
        }
        let p = &mut self.publishing;
        p.updates.push_back((p.next_update, update.clone()));
        p.next_update += 1;
        while p.updates.len() > UPDATES_KEPT {
            p.updates.pop_front();
        }
        p.dirty = true;
    }

    /// Something a view shows changed without an update (a settings change, a resync).
    pub(super) fn view_changed(&mut self) {
        self.publishing.dirty = true;
    }

    /// When the view is next due, while this instance leads among others.
    pub(super) fn publish_deadline(&self) -> Option<Millis> {
        self.publishing_epoch()?;
        let p = &self.publishing;
        Some(
            p.last
                + if p.dirty {
                    PUBLISH_EVERY
                } else {
                    REFRESH_EVERY
                },
        )
    }

    /// Hands the view to the publisher when it is due.
    pub(super) fn publish_if_due(&mut self, now: Millis) {
        let Some(epoch) = self.publishing_epoch() else {
            return;
        };
        if self.publish_deadline().is_some_and(|due| now < due) {
            return;
        }
        let view = LiveView {
            queues: self.engine.queues(now),
            agents: self.engine.agents(),
            identities: self.identities.clone(),
            recent: self.recent.iter().cloned().collect(),
            updates: self.publishing.updates.iter().cloned().collect(),
        };
        let p = &mut self.publishing;
        p.dirty = false;
        p.last = now;
        p.out.send_replace(Some(Arc::new(Publication {
            epoch,
            at: now,
            view,
        })));
    }

    /// Stops serving the leader's view (this instance leads, or lost the lead and waits for
    /// the next leader's): the screens are sent this engine's board instead.
    pub(super) fn drop_mirror(&mut self) {
        let Some(mirror) = self.mirror.take() else {
            return;
        };
        let mut queues: Vec<String> = mirror.view.queues.into_iter().map(|q| q.name).collect();
        queues.extend(self.engine.queues(clock::now()).into_iter().map(|q| q.name));
        let change = MirrorChange {
            queues,
            agents: self.engine.agents(),
            ..MirrorChange::default()
        };
        let _ = self.mirror_changes.send(change);
    }

    /// A view the leader published: served while this instance stands by.
    pub(super) fn mirrored(&mut self, mirror: Mirror) {
        if self.leads {
            return;
        }
        let change = MirrorChange::between(self.mirror.as_ref().map(|m| &m.view), &mirror.view);
        self.mirror = Some(mirror);
        let _ = self.mirror_changes.send(change);
    }
}

/// Writes each view handed over (the latest, when several came meanwhile) to the database.
pub(super) async fn publish(
    store: Store,
    instance: String,
    mut views: watch::Receiver<Option<Arc<Publication>>>,
) {
    while views.changed().await.is_ok() {
        let Some(publication) = views.borrow_and_update().clone() else {
            continue;
        };
        let body = match serde_json::to_string(&publication.view) {
            Ok(body) => body,
            Err(e) => {
                warn!("the live view could not be written as JSON: {e}");
                continue;
            }
        };
        match store
            .publish_live_view(publication.epoch, &instance, publication.at, &body)
            .await
        {
            Ok(()) => {}
            Err(e) if e.is_fenced() => debug!("live view not published, a newer leader leads: {e}"),
            Err(e) => warn!("live view not published: {e}"),
        }
    }
}

/// While this instance stands by, reads each view the leader publishes and hands it to the
/// switchboard.
pub(super) async fn follow(store: Store, leadership: Leadership, inbox: mpsc::Sender<Msg>) {
    let mut seen = 0;
    let mut failing = false;
    loop {
        tokio::time::sleep(READ_EVERY).await;
        if leadership.role().leads() {
            // The next stand-by starts from the view published then.
            seen = 0;
            continue;
        }
        let published = match store.live_view_after(seen).await {
            Ok(Some(published)) => published,
            Ok(None) => continue,
            Err(e) => {
                if !std::mem::replace(&mut failing, true) {
                    warn!("the leader's live view cannot be read: {e}");
                }
                continue;
            }
        };
        failing = false;
        seen = published.version;
        // Its own view from an earlier lead is no news: the new leader's is.
        if published.body.is_empty() || published.instance == leadership.instance() {
            continue;
        }
        let view = match serde_json::from_str::<LiveView>(&published.body) {
            Ok(view) => view,
            Err(e) => {
                warn!(leader = %published.instance, "the leader's live view is not readable: {e}");
                continue;
            }
        };
        let mirror = Mirror {
            view,
            source: ViewSource::Leader {
                instance: published.instance,
                epoch: published.epoch,
                published_at: published.published_at,
            },
        };
        if inbox.send(Msg::Mirrored(Box::new(mirror))).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(name: &str, activity: &str, call: Option<&str>) -> AgentView {
        AgentView {
            name: name.to_owned(),
            endpoint: Endpoint::parse("user/1001").unwrap(),
            tier: 0,
            position: 0,
            status: AgentStatus::Available,
            activity: activity.to_owned(),
            since: 0,
            wrap_up_until: None,
            call: call.map(str::to_owned),
            calls: 0,
            talk_secs: 0,
        }
    }

    #[test]
    fn a_change_names_the_agents_that_changed_and_those_whose_phone_started_ringing() {
        let before = LiveView {
            agents: vec![agent("a", "idle", None), agent("b", "ringing", Some("c1"))],
            updates: vec![(7, Update::CountersChanged { queue: "q".into() })],
            ..LiveView::default()
        };
        let after = LiveView {
            agents: vec![
                agent("a", "ringing", Some("c2")),
                agent("b", "ringing", Some("c1")),
            ],
            updates: vec![
                (7, Update::CountersChanged { queue: "q".into() }),
                (8, Update::CountersChanged { queue: "r".into() }),
            ],
            ..LiveView::default()
        };
        let change = MirrorChange::between(Some(&before), &after);
        assert_eq!(change.agents, vec![agent("a", "ringing", Some("c2"))]);
        assert_eq!(change.ringing, vec![("a".to_owned(), "c2".to_owned())]);
        assert_eq!(
            change.updates,
            vec![Update::CountersChanged { queue: "r".into() }]
        );
        // The first view's updates are history, not news.
        assert!(MirrorChange::between(None, &after).updates.is_empty());
    }

    #[test]
    fn a_view_reads_back_as_it_was_written() {
        let view = LiveView {
            agents: vec![agent("a", "in_call", Some("c1"))],
            recent: vec![RecentCaller {
                call: "c1".into(),
                number: "+74955550123".into(),
                name: "Ivan".into(),
            }],
            updates: vec![(1, Update::CountersChanged { queue: "q".into() })],
            ..LiveView::default()
        };
        let text = serde_json::to_string(&view).unwrap();
        assert_eq!(serde_json::from_str::<LiveView>(&text).unwrap(), view);
    }
}
