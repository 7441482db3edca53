//! Reading a room message as a command, strictly: `!take N` or `!resolve N`, the command word
//! in any letter case, N a positive decimal integer (digits only: no sign, no `#`), nothing
//! else on the line but spaces. Pure.

use super::Action;

/// What a message is, to the bot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parsed {
    /// Not addressed to the bot (ordinary talk, another bot's `!command`): ignored.
    Ignored,
    /// `!take`/`!resolve` without a valid number: answered with the usage.
    Usage,
    Command {
        action: Action,
        incident: i64,
    },
}

/// The message `body` read as a command.
pub fn parse(body: &str) -> Parsed {
    let mut words = body.split_whitespace();
    let action = match words.next() {
        Some(w) if w.eq_ignore_ascii_case("!take") => Action::Take,
        Some(w) if w.eq_ignore_ascii_case("!resolve") => Action::Resolve,
        _ => return Parsed::Ignored,
    };
    let (Some(number), None) = (words.next(), words.next()) else {
        return Parsed::Usage;
    };
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Parsed::Usage;
    }
    match number.parse::<i64>() {
        Ok(incident) if incident > 0 => Parsed::Command { action, incident },
        _ => Parsed::Usage,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_read_strictly() {
        let take = |n| Parsed::Command {
            action: Action::Take,
            incident: n,
        };
        assert_eq!(parse("!take 7"), take(7));
        assert_eq!(parse("  !TAKE   7 \n"), take(7));
        assert_eq!(
            parse("!resolve 12"),
            Parsed::Command {
                action: Action::Resolve,
                incident: 12
            }
        );
        for usage in [
            "!take",
            "!take 0",
            "!take -1",
            "!take +1",
            "!take #7",
            "!take 7 8",
            "!take 7x",
            "!take seven",
            "!resolve 99999999999999999999",
            "!take ７",
        ] {
            assert_eq!(parse(usage), Parsed::Usage, "{usage:?}");
        }
        for ignored in [
            "",
            "take 7",
            "hello !take 7",
            "!takeover 7",
            "* !take 7",
            "!help",
        ] {
            assert_eq!(parse(ignored), Parsed::Ignored, "{ignored:?}");
        }
    }
}
