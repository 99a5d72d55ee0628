use mcp_runtime::prelude::*;

struct Weather;

impl Weather {
    /// Current weather of a city (no receiver, but still inside an `impl`).
    #[tool]
    fn current(city: String) -> String {
        format!("sunny in {city}")
    }
}

fn main() {}
