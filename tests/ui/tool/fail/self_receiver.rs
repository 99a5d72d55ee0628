use mcp_runtime::prelude::*;

struct Weather;

impl Weather {
    /// Current weather of a city.
    #[tool]
    fn current(&self, city: String) -> String {
        format!("sunny in {city}")
    }
}

fn main() {}
