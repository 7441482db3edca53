//! Property tests: any split of a real capture yields the same frames; garbage never panics and
//! never grows memory past the frame limit.

mod captures;

use proptest::prelude::*;
use switchdesk::esl::event::EventFormat;
use switchdesk::esl::{Event, Frame, Parser};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(captures::freeswitch().join("esl").join(name)).unwrap()
}

fn frames_in_chunks(stream: &[u8], cuts: &[usize]) -> Vec<Frame> {
    let mut parser = Parser::default();
    let mut frames = Vec::new();
    let mut start = 0;
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
    cuts.sort_unstable();
    cuts.push(stream.len());
    for cut in cuts {
        parser.push(&stream[start..cut]);
        start = cut;
        while let Some(frame) = parser.next_frame().unwrap() {
            frames.push(frame);
        }
    }
    assert_eq!(parser.buffered(), 0);
    frames
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Whatever number a frame declares as its length (up to u64::MAX, and beyond), the parser
    /// answers with a frame, "more bytes", or an error, never a panic, and never buffers past
    /// its cap waiting for a body that could not fit.
    #[test]
    fn any_declared_length_is_a_frame_a_wait_or_an_error(length in any::<u64>(), extra in any::<u64>(), wide in any::<bool>(), body in proptest::collection::vec(any::<u8>(), 0..64)) {
        let declared = if wide { format!("{length}{extra}") } else { length.to_string() };
        let value: Option<u128> = declared.parse().ok();
        let head = format!("Content-Type: api/response\nContent-Length: {declared}\n\n");
        let mut parser = Parser::new(1024);
        parser.push(head.as_bytes());
        parser.push(&body);
        let fits = |v: u128| v + head.len() as u128 <= 1024;
        match parser.next_frame() {
            Ok(Some(frame)) => prop_assert_eq!(Some(frame.body().len() as u128), value),
            Ok(None) => prop_assert!(value.is_some_and(|v| fits(v) && (body.len() as u128) < v)),
            Err(_) => prop_assert!(value.is_none_or(|v| !fits(v))),
        }
        prop_assert!(parser.buffered() <= 1024);
    }

    #[test]
    fn any_split_of_a_capture_gives_the_same_frames(cuts in proptest::collection::vec(any::<usize>(), 0..200)) {
        for name in ["02_call_plain_ALL.rx", "02_call_json_ALL_observer.rx", "02_call_xml_ALL_observer.rx", "04_commands.rx"] {
            let stream = fixture(name);
            let whole = frames_in_chunks(&stream, &[]);
            let split = frames_in_chunks(&stream, &cuts);
            prop_assert_eq!(&whole, &split);
        }
    }

    #[test]
    fn garbage_is_an_error_or_frames_never_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let mut parser = Parser::new(1024);
        parser.push(&bytes);
        for _ in 0..64 {
            match parser.next_frame() {
                Ok(Some(frame)) => {
                    // Whatever the frame claims to be, reading it must not panic.
                    let _ = frame.headers().count();
                    let _ = Event::from_frame(&frame).map(|e| e.to_json());
                }
                Ok(None) | Err(_) => break,
            }
        }
        prop_assert!(parser.buffered() <= bytes.len());
    }

    #[test]
    fn corrupted_events_never_panic(seed in any::<u64>(), flips in 1usize..40) {
        for name in ["02_call_plain_ALL.rx", "02_call_json_ALL_observer.rx", "02_call_xml_ALL_observer.rx"] {
            for frame in frames_in_chunks(&fixture(name), &[]).iter().filter(|f| f.kind().is_event()).take(12) {
                let format = match frame.content_type() {
                    Some("text/event-json") => EventFormat::Json,
                    Some("text/event-xml") => EventFormat::Xml,
                    _ => EventFormat::Plain,
                };
                let mut bytes = frame.body().to_vec();
                let mut state = seed | 1;
                for _ in 0..flips {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    let at = (state as usize) % bytes.len();
                    bytes[at] = (state >> 32) as u8;
                }
                // Either a clear error, or an event whose every header can be read.
                if let Ok(event) = Event::parse(format, bytes::Bytes::from(bytes)) {
                    let json = event.to_json();
                    prop_assert!(json.len() <= event.header_count() + 1);
                    prop_assert_eq!(event.headers().count(), event.header_count());
                }
            }
        }
    }
}
