//! The crate's error type.

use crate::model::ConfigParser;

/// Everything that can go wrong in this crate. Messages are meant for the person who
/// supplied the input: they name the field or file format at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The egg text is not valid JSON or YAML at all.
    #[error("not a valid {format} document: {message}")]
    Syntax {
        /// `JSON` or `YAML`.
        format: &'static str,
        /// What the parser reported, with line and column.
        message: String,
    },
    /// One field of an egg or template is missing or malformed.
    #[error("{field}: {message}")]
    Field {
        /// Where the field is, e.g. `variables[3].rules` or `config.files`.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// A config file could not be edited (its current text does not parse, or an edit
    /// cannot be applied).
    #[error("cannot edit {parser} file: {message}")]
    Edit {
        /// The parser that was asked to edit the file.
        parser: ConfigParser,
        /// What went wrong.
        message: String,
    },
}

impl Error {
    pub(crate) fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Field {
            field: field.into(),
            message: message.into(),
        }
    }

    pub(crate) fn edit(parser: ConfigParser, message: impl Into<String>) -> Self {
        Error::Edit {
            parser,
            message: message.into(),
        }
    }
}

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
