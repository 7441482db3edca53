//! Each node's executor, which sends the steps in the order the engine asked for them, and the
//! forwarder that hands a node's events to the switchboard; the ESL round trips they need.

use super::*;

/// Whether FreeSWITCH still has `uuid` as a live channel. A hung-up channel lingering in
/// CS_REPORTING answers false (its read lock is refused once the channel is down); so does a
/// switch that cannot be asked, since offering a caller nobody can confirm rings agents for
/// nothing, and a caller still there is found again by the next resync.
async fn channel_exists(connection: &Connection, uuid: &str) -> bool {
    let Ok(uuid) = ChannelUuid::parse(uuid) else {
        return false;
    };
    matches!(
        connection.api(&Api::Exists(uuid).to_string()).await,
        Ok(body) if body.trim() == "true"
    )
}

/// `uuid_kill` of a channel the switchboard tracks (nothing if its id is not a UUID).
pub(super) fn kill(channel: &str, cause: HangupCause) -> Vec<Step> {
    ChannelUuid::parse(channel)
        .map(|uuid| vec![api(Api::Kill(uuid, cause))])
        .unwrap_or_default()
}

/// Sends one node's commands in order; results that matter go back to the switchboard. An
/// `api` whose reply nothing reads, followed by another `api` (the `uuid_break` before a
/// `uuid_bridge`), is not waited for: both go out back to back, in order (FreeSWITCH runs a
/// connection's `api`s one after the other, and the connection matches replies in order).
pub(super) async fn execute(
    connection: Connection,
    queue: Arc<tokio::sync::Mutex<mpsc::Receiver<Vec<Step>>>>,
    inbox: mpsc::Sender<Msg>,
) {
    let mut queue = queue.lock().await;
    while let Some(steps) = queue.recv().await {
        let mut steps = steps.into_iter().peekable();
        while let Some(step) = steps.next() {
            match step {
                Step::Api {
                    command,
                    bridge_of: None,
                } if matches!(steps.peek(), Some(Step::Api { .. })) => {
                    let Some(Step::Api {
                        command: next,
                        bridge_of,
                    }) = steps.next()
                    else {
                        continue;
                    };
                    let (first, second) = (command.to_string(), next.to_string());
                    let replies = connection.api_pipelined(&[&first, &second]).await;
                    let mut refused = false;
                    for (command, reply) in [&first, &second].into_iter().zip(replies) {
                        refused = refused_reply(command, reply);
                    }
                    if let (true, Some(call)) = (refused, bridge_of) {
                        bridge_refused(&connection, &inbox, call).await;
                    }
                }
                Step::Api { command, bridge_of } => {
                    let refused = send_api(&connection, &command.to_string()).await;
                    if let (true, Some(call)) = (refused, bridge_of) {
                        bridge_refused(&connection, &inbox, call).await;
                    }
                }
                Step::Originate { command, leg } => {
                    match connection.bgapi(&command.to_string()).await {
                        Ok(job) => {
                            let inbox = inbox.clone();
                            tokio::spawn(async move {
                                let result = job.result().await.map_err(|e| e.to_string());
                                let _ = inbox.send(Msg::LegResult { leg, result }).await;
                            });
                        }
                        Err(e) => {
                            let result = Err(e.to_string());
                            let _ = inbox.send(Msg::LegResult { leg, result }).await;
                        }
                    }
                }
                Step::Ring { call, app, leg } => {
                    let sent = connection
                        .sendmsg(call.as_str(), app.call_command(), None)
                        .await;
                    if let Err(e) = sent {
                        let result = Err(e.to_string());
                        let _ = inbox.send(Msg::LegResult { leg, result }).await;
                    }
                }
                Step::Execute { uuid, app } => {
                    if let Err(e) = connection
                        .sendmsg(uuid.as_str(), app.call_command(), None)
                        .await
                    {
                        debug!(%uuid, ?app, "sendmsg not carried out: {e}");
                    }
                }
            }
        }
    }
}

/// `api <command>`; true when FreeSWITCH refused it (`-ERR`) or it could not be sent.
async fn send_api(connection: &Connection, command: &str) -> bool {
    refused_reply(command, connection.api(command).await)
}

/// Whether an `api` reply is a refusal (logged).
fn refused_reply(command: &str, reply: Result<String, crate::esl::ConnectionError>) -> bool {
    match reply {
        Ok(body) if body.starts_with("-ERR") => {
            debug!(%command, "FreeSWITCH answered {}", body.trim_end());
            true
        }
        Ok(_) => false,
        Err(e) => {
            warn!(%command, "not carried out: {e}");
            true
        }
    }
}

/// Where a node's events go.
#[derive(Clone)]
pub(super) struct Forward {
    pub(super) inbox: mpsc::Sender<Msg>,
    /// The node's index in the switchboard.
    pub(super) index: usize,
    /// The node's name, for logs and metrics.
    pub(super) node: String,
    pub(super) metrics: Arc<Metrics>,
}

/// Hands one node's events to the switchboard; `restarted` (after a failure, when events
/// were missed) asks for the node to be read again first. An event that finds the inbox full
/// is dropped, and the node is resynced once the switchboard has room for the request: the
/// forwarder waits for it, while the event socket's reader goes on (its broadcast sheds a
/// forwarder that falls further behind, which is lag again).
pub(super) async fn forward_events(
    mut events: broadcast::Receiver<ConnectionEvent>,
    forward: Forward,
    restarted: bool,
) {
    let index = forward.index;
    if restarted && forward.inbox.send(Msg::Lagged(index)).await.is_err() {
        return;
    }
    loop {
        match events.recv().await {
            Ok(event) => match forward.inbox.try_send(Msg::Esl(index, event)) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => {
                    warn!(node = %forward.node, "switchboard inbox full; event dropped, resyncing");
                    lagged(&forward.metrics, &forward.node, "inbox");
                    if forward.inbox.send(Msg::Lagged(index)).await.is_err() {
                        break;
                    }
                }
                Err(TrySendError::Closed(_)) => break,
            },
            Err(broadcast::error::RecvError::Lagged(n)) => {
                warn!(
                    node = %forward.node,
                    skipped = n,
                    "switchboard fell behind the event socket; resyncing"
                );
                if forward.inbox.send(Msg::Lagged(index)).await.is_err() {
                    break;
                }
            }
            Err(broadcast::error::RecvError::Closed) => break,
        }
    }
}

/// A refused `uuid_bridge` of `call`: the switchboard hears whether the caller is still there.
async fn bridge_refused(connection: &Connection, inbox: &mpsc::Sender<Msg>, call: String) {
    let caller_gone = !channel_exists(connection, &call).await;
    let _ = inbox.send(Msg::BridgeFailed { call, caller_gone }).await;
}
