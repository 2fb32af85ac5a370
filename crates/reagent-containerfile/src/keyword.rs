//! Instruction keywords: one variant per instruction buildah accepts, so that a typo in
//! the parser is a compile error rather than a string that never matches.

use std::fmt;
use std::str::FromStr;

/// An instruction keyword (`FROM`, `RUN`, ...).
///
/// Parsed case-insensitively, as buildah reads them (`from`, `From` and `FROM` are the
/// same keyword); shown upper-case, as written in messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Keyword {
    /// `FROM`: start a stage from an image or an earlier stage.
    From,
    /// `RUN`: run a command.
    Run,
    /// `CMD`: the default command.
    Cmd,
    /// `LABEL`: image labels.
    Label,
    /// `MAINTAINER`: the deprecated author field.
    Maintainer,
    /// `EXPOSE`: ports the image listens on.
    Expose,
    /// `ENV`: environment variables.
    Env,
    /// `ADD`: copy files, fetching URLs and unpacking archives.
    Add,
    /// `COPY`: copy files from the context or another image.
    Copy,
    /// `ENTRYPOINT`: the command that `CMD` is appended to.
    Entrypoint,
    /// `VOLUME`: mount points.
    Volume,
    /// `USER`: the user later instructions and the container run as.
    User,
    /// `WORKDIR`: the working directory.
    Workdir,
    /// `ARG`: a build argument.
    Arg,
    /// `ONBUILD`: an instruction for images built from this one.
    Onbuild,
    /// `STOPSIGNAL`: the signal that stops the container.
    Stopsignal,
    /// `HEALTHCHECK`: how to test that the container works.
    Healthcheck,
    /// `SHELL`: the shell for the shell form of later instructions.
    Shell,
}

impl Keyword {
    /// Every keyword, in the order of buildah's documentation.
    pub const ALL: [Keyword; 18] = [
        Keyword::From,
        Keyword::Run,
        Keyword::Cmd,
        Keyword::Label,
        Keyword::Maintainer,
        Keyword::Expose,
        Keyword::Env,
        Keyword::Add,
        Keyword::Copy,
        Keyword::Entrypoint,
        Keyword::Volume,
        Keyword::User,
        Keyword::Workdir,
        Keyword::Arg,
        Keyword::Onbuild,
        Keyword::Stopsignal,
        Keyword::Healthcheck,
        Keyword::Shell,
    ];

    /// The keyword upper-cased, as messages show it (`RUN`).
    pub fn as_str(self) -> &'static str {
        match self {
            Keyword::From => "FROM",
            Keyword::Run => "RUN",
            Keyword::Cmd => "CMD",
            Keyword::Label => "LABEL",
            Keyword::Maintainer => "MAINTAINER",
            Keyword::Expose => "EXPOSE",
            Keyword::Env => "ENV",
            Keyword::Add => "ADD",
            Keyword::Copy => "COPY",
            Keyword::Entrypoint => "ENTRYPOINT",
            Keyword::Volume => "VOLUME",
            Keyword::User => "USER",
            Keyword::Workdir => "WORKDIR",
            Keyword::Arg => "ARG",
            Keyword::Onbuild => "ONBUILD",
            Keyword::Stopsignal => "STOPSIGNAL",
            Keyword::Healthcheck => "HEALTHCHECK",
            Keyword::Shell => "SHELL",
        }
    }

    /// Whether heredoc bodies (`<<EOF`) may follow the instruction: `RUN`, `COPY`, `ADD`.
    pub(crate) fn takes_heredocs(self) -> bool {
        matches!(self, Keyword::Run | Keyword::Copy | Keyword::Add)
    }
}

impl fmt::Display for Keyword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A word that is not an instruction keyword.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown instruction `{word}`")]
pub struct UnknownKeyword {
    /// The word as written.
    pub word: String,
}

impl FromStr for Keyword {
    type Err = UnknownKeyword;

    /// Case-insensitive (ASCII), as buildah accepts keywords.
    fn from_str(word: &str) -> Result<Self, Self::Err> {
        Keyword::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(word))
            .ok_or_else(|| UnknownKeyword {
                word: word.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_its_name() {
        for k in Keyword::ALL {
            assert_eq!(k.as_str().parse::<Keyword>(), Ok(k));
            assert_eq!(k.to_string(), k.as_str());
            assert_eq!(k.as_str(), k.as_str().to_ascii_uppercase());
        }
    }

    #[test]
    fn parsing_ignores_case_only() {
        assert_eq!("from".parse::<Keyword>(), Ok(Keyword::From));
        assert_eq!("HealthCheck".parse::<Keyword>(), Ok(Keyword::Healthcheck));
        assert_eq!(
            "FRUM".parse::<Keyword>().map_err(|e| e.to_string()),
            Err("unknown instruction `FRUM`".to_string())
        );
        assert!(" RUN".parse::<Keyword>().is_err());
        assert!("".parse::<Keyword>().is_err());
    }
}
