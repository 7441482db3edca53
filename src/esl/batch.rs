//! What a subscriber receives for each read from the socket: the events in it, in order.
//!
//! Delivering per read instead of per event takes the channel's cost (a lock, a wake-up, an
//! allocation) off every event: one send carries every event a read brought in. Events are
//! numbered in the order the connection received them (across reconnects), so a consumer that
//! was shed knows exactly how many events it missed.

use std::sync::Arc;

use super::event::Event;

/// The events of one read, in the order FreeSWITCH sent them; cheap to clone (shared).
#[derive(Clone, Debug)]
pub struct EventBatch {
    first: u64,
    bytes: usize,
    events: Arc<[Event]>,
}

impl EventBatch {
    /// `first` is the sequence number of the first event; `bytes` the frames' size on the wire.
    pub fn new(first: u64, bytes: usize, events: Vec<Event>) -> EventBatch {
        EventBatch {
            first,
            bytes,
            events: events.into(),
        }
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Event> {
        self.events.iter()
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// The sequence number of the first event.
    pub fn first_seq(&self) -> u64 {
        self.first
    }

    /// The sequence number the next batch starts at.
    pub fn end_seq(&self) -> u64 {
        self.first + self.events.len() as u64
    }

    /// The events' frames as received: headers, blank line and body.
    pub fn wire_bytes(&self) -> usize {
        self.bytes
    }
}

impl<'a> IntoIterator for &'a EventBatch {
    type Item = &'a Event;
    type IntoIter = std::slice::Iter<'a, Event>;

    fn into_iter(self) -> Self::IntoIter {
        self.events.iter()
    }
}

/// Follows the sequence numbers of the batches a consumer reads: how many events it missed.
#[derive(Debug, Default)]
pub struct Continuity {
    next: Option<u64>,
}

impl Continuity {
    /// Events between the last batch seen and this one (0 when nothing was missed).
    pub fn missed_before(&mut self, batch: &EventBatch) -> u64 {
        let missed = self
            .next
            .map_or(0, |next| batch.first_seq().saturating_sub(next));
        self.next = Some(batch.end_seq());
        missed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(first: u64, n: usize) -> EventBatch {
        let event = Event::parse(
            super::super::EventFormat::Plain,
            bytes::Bytes::from_static(b"Event-Name: HEARTBEAT\n"),
        )
        .unwrap();
        EventBatch::new(first, 22 * n, vec![event; n])
    }

    #[test]
    fn continuity_counts_the_events_between_batches() {
        let mut seen = Continuity::default();
        assert_eq!(seen.missed_before(&batch(5, 3)), 0);
        assert_eq!(seen.missed_before(&batch(8, 2)), 0);
        assert_eq!(seen.missed_before(&batch(40, 1)), 30);
        assert_eq!(batch(40, 1).end_seq(), 41);
    }
}
