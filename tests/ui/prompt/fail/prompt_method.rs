use mcp_runtime::prelude::*;

struct Reviewer;

impl Reviewer {
    /// Ask for a review.
    #[prompt]
    fn review(&self, code: String) -> String {
        format!("Review:\n{code}")
    }
}

fn main() {}
