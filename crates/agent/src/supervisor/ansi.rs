//! Terminal control sequences in console text. Every viewer's terminal (or the web UI's
//! terminal emulator) interprets what the console carries, so neither a game nor a user
//! may send sequences that do more than colour text: no hyperlinks or title changes
//! (OSC), device control strings (DCS), APC/PM/SOS strings, screen clears or cursor
//! moves. Parsing uses the VT500 state machine of `anstyle-parse`.

use std::fmt::Write;

use anstyle_parse::{Params, Parser, Perform, Utf8Parser};

/// Game output: colours and text attributes (SGR, `ESC [ … m`) and tabs are kept; every
/// other control sequence and control character is dropped.
pub fn clean_output(text: String) -> String {
    clean(text, true)
}

/// Console input: every control sequence and control character is dropped.
pub fn clean_input(text: &str) -> String {
    clean(text.to_owned(), false)
}

fn clean(text: String, keep_sgr: bool) -> String {
    if !may_hold_controls(text.as_bytes()) {
        return text;
    }
    let mut out = Clean {
        text: String::with_capacity(text.len()),
        keep_sgr,
    };
    let mut parser = Parser::<Utf8Parser>::new();
    for byte in text.bytes() {
        parser.advance(&mut out, byte);
    }
    out.text
}

/// A quick scan for bytes that can start a control: C0 controls, DEL, and the lead byte
/// of U+0080..U+00BF (which holds the C1 controls). Plain text skips the parser.
fn may_hold_controls(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f || b == 0xc2)
}

struct Clean {
    text: String,
    keep_sgr: bool,
}

impl Perform for Clean {
    fn print(&mut self, c: char) {
        if !c.is_control() {
            self.text.push(c);
        }
    }

    fn execute(&mut self, byte: u8) {
        if byte == b'\t' && self.keep_sgr {
            self.text.push('\t');
        }
    }

    fn csi_dispatch(&mut self, params: &Params, intermediates: &[u8], ignore: bool, action: u8) {
        if !self.keep_sgr || action != b'm' || !intermediates.is_empty() || ignore {
            return;
        }
        self.text.push_str("\x1b[");
        for (i, param) in params.iter().enumerate() {
            if i > 0 {
                self.text.push(';');
            }
            for (j, value) in param.iter().enumerate() {
                if j > 0 {
                    self.text.push(':');
                }
                let _ = write!(self.text, "{value}");
            }
        }
        self.text.push('m');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_keeps_colours_and_drops_other_sequences() {
        let line = "\x1b[1;31mred\x1b[0m \x1b]8;;http://x.example\x07link\x1b]8;;\x1b\\ \
                    \x1b[2J\x1b[H\x1bPq#0\x1b\\\x1b_apc\x1b\\\x1b[38:2:1:2:3mrgb\x07\u{9b}2J\tend";
        assert_eq!(
            clean_output(line.to_owned()),
            "\x1b[1;31mred\x1b[0m link \x1b[38:2:1:2:3mrgb2J\tend"
        );
        let plain = "Done (0.1s)! For help, type \"help\" — ünïcode\t";
        assert_eq!(clean_output(plain.to_owned()), plain);
    }

    #[test]
    fn input_loses_every_control() {
        assert_eq!(
            clean_input("say \x1b[31mhi\x1b[0m\x1b]0;title\x07 there\x08\t!"),
            "say hi there!"
        );
        assert_eq!(clean_input("say ünïcode"), "say ünïcode");
    }
}
