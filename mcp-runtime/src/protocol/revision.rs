//! Protocol revisions and everything that differs between them.
//!
//! Every per-revision difference in what goes on the wire is decided here, through
//! [`ProtocolVersion`]'s feature methods; the rest of the runtime asks, never compares dates.

use std::fmt;

/// A protocol revision this runtime speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProtocolVersion {
    /// `2024-11-05`: the first revision.
    V2024_11_05,
    /// `2025-03-26`: tool annotations, audio content, completions, progress messages.
    V2025_03_26,
    /// `2025-06-18`: structured tool output, titles, resource links, elicitation.
    V2025_06_18,
    /// `2025-11-25`: icons, URL elicitation, sampling with tools.
    V2025_11_25,
    /// `2026-07-28`: no handshake and no sessions; each request says who sends it in its
    /// `_meta`; requests to the client become `input_required` results.
    V2026_07_28,
}

impl ProtocolVersion {
    /// Every revision served through the `initialize` handshake, oldest first.
    pub const HANDSHAKE: [ProtocolVersion; 4] = [
        ProtocolVersion::V2024_11_05,
        ProtocolVersion::V2025_03_26,
        ProtocolVersion::V2025_06_18,
        ProtocolVersion::V2025_11_25,
    ];

    /// Every revision served, oldest first: the handshake ones and the per-request one.
    pub const ALL: [ProtocolVersion; 5] = [
        ProtocolVersion::V2024_11_05,
        ProtocolVersion::V2025_03_26,
        ProtocolVersion::V2025_06_18,
        ProtocolVersion::V2025_11_25,
        ProtocolVersion::V2026_07_28,
    ];

    /// The newest revision, newest first in `server/discover`'s `supportedVersions`.
    pub const NEWEST: ProtocolVersion = ProtocolVersion::V2026_07_28;

    /// The per-request revision: what `server/discover` and `_meta`-carrying requests speak.
    pub const PER_REQUEST: ProtocolVersion = ProtocolVersion::V2026_07_28;

    /// The revision an HTTP request without `MCP-Protocol-Version` is taken to speak when
    /// nothing else tells (the streamable HTTP transport's rule).
    pub const HTTP_ASSUMED: ProtocolVersion = ProtocolVersion::V2025_03_26;

    /// The newest handshake revision, answered when a client asks for one we do not know.
    pub const LATEST: ProtocolVersion = ProtocolVersion::V2025_11_25;

    /// The revision's date string.
    pub const fn as_str(self) -> &'static str {
        match self {
            ProtocolVersion::V2024_11_05 => "2024-11-05",
            ProtocolVersion::V2025_03_26 => "2025-03-26",
            ProtocolVersion::V2025_06_18 => "2025-06-18",
            ProtocolVersion::V2025_11_25 => "2025-11-25",
            ProtocolVersion::V2026_07_28 => "2026-07-28",
        }
    }

    /// Parses a handshake revision's date string.
    pub fn parse(s: &str) -> Option<ProtocolVersion> {
        Self::HANDSHAKE.into_iter().find(|v| v.as_str() == s)
    }

    /// Parses any revision's date string, the per-request one included.
    pub fn parse_any(s: &str) -> Option<ProtocolVersion> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Served without a handshake: each request carries the client's version, capabilities
    /// and identity in its `_meta`.
    pub fn is_per_request(self) -> bool {
        self >= ProtocolVersion::V2026_07_28
    }

    /// The revision to answer an `initialize` that asked for `requested`: the same one when
    /// supported, otherwise the latest.
    pub fn negotiate(requested: &str) -> ProtocolVersion {
        Self::parse(requested).unwrap_or(Self::LATEST)
    }

    /// Index into per-revision caches.
    pub(crate) const fn index(self) -> usize {
        self as usize
    }

    /// Tool annotations (`readOnlyHint`…) exist.
    pub fn has_tool_annotations(self) -> bool {
        self >= ProtocolVersion::V2025_03_26
    }

    /// Audio content blocks exist.
    pub fn has_audio(self) -> bool {
        self >= ProtocolVersion::V2025_03_26
    }

    /// `structuredContent` and `outputSchema` exist.
    pub fn has_structured_output(self) -> bool {
        self >= ProtocolVersion::V2025_06_18
    }

    /// `title` on tools, resources, prompts and implementations exists.
    pub fn has_titles(self) -> bool {
        self >= ProtocolVersion::V2025_06_18
    }

    /// `resource_link` content blocks exist.
    pub fn has_resource_links(self) -> bool {
        self >= ProtocolVersion::V2025_06_18
    }

    /// `_meta` on tools and other list items exists.
    pub fn has_item_meta(self) -> bool {
        self >= ProtocolVersion::V2025_06_18
    }

    /// `icons` on tools, resources, prompts and implementations exist.
    pub fn has_icons(self) -> bool {
        self >= ProtocolVersion::V2025_11_25
    }

    /// `message` on progress notifications exists.
    pub fn has_progress_message(self) -> bool {
        self >= ProtocolVersion::V2025_03_26
    }

    /// Elicitation requests say their `mode` (`form` or `url`).
    pub fn has_elicitation_modes(self) -> bool {
        self >= ProtocolVersion::V2025_11_25
    }

    /// The `completions` server capability exists.
    pub fn has_completions(self) -> bool {
        self >= ProtocolVersion::V2025_03_26
    }
}

impl fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_answers_the_same_revision_or_the_latest() {
        for v in ProtocolVersion::HANDSHAKE {
            assert_eq!(ProtocolVersion::negotiate(v.as_str()), v);
        }
        assert_eq!(
            ProtocolVersion::negotiate("1999-01-01"),
            ProtocolVersion::LATEST
        );
        assert_eq!(ProtocolVersion::negotiate(""), ProtocolVersion::LATEST);
    }

    #[test]
    fn features_follow_the_changelogs() {
        use ProtocolVersion::*;
        assert!(!V2024_11_05.has_tool_annotations());
        assert!(V2025_03_26.has_tool_annotations());
        assert!(!V2025_03_26.has_structured_output());
        assert!(V2025_06_18.has_structured_output());
        assert!(!V2025_06_18.has_icons());
        assert!(V2025_11_25.has_icons());
    }
}
