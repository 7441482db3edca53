//! Queue and agent statistics in intervals: the recorder (pure) accumulates the switchboard's
//! updates into per-interval deltas, the task stores them, the report rolls stored intervals
//! up into the figures (service level, ASA, AHT, abandon rate, occupancy); `history` draws a
//! queue's last hours for the wallboard's charts, `promises` judges the announced expected
//! waits; `ratings` rolls callers' ratings up from the rated calls; `[stats]` says how long an
//! interval is, what a short abandon is and when a day starts.

pub mod config;
pub mod history;
pub mod promises;
pub mod ratings;
pub mod recorder;
pub mod report;
pub mod task;

pub use config::{Day, StatsConfig};
pub use recorder::{AgentInterval, AgentTime, Deltas, QueueInterval, Recorder, WaitingTime};
pub use task::StatsRecorder;
