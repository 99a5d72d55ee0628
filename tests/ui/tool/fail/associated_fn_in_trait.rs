use mcp_runtime::prelude::*;

trait Weather {
    /// Current weather of a city, as a provided method of a trait.
    #[tool]
    fn current(city: String) -> String {
        format!("sunny in {city}")
    }
}

fn main() {}
