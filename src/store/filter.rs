//! A `WHERE` clause built from optional conditions, numbered `$1..` in the order they are
//! added and bound in the same order, so list endpoints never paste values into SQL.

use super::Query;

enum Value<'a> {
    Int(i64),
    Text(&'a str),
}

#[derive(Default)]
pub(crate) struct Filter<'a> {
    conditions: Vec<String>,
    values: Vec<Value<'a>>,
}

impl<'a> Filter<'a> {
    fn next(&self) -> usize {
        self.values.len() + 1
    }

    /// `column = value` when a value is given.
    pub(crate) fn eq_i64(&mut self, column: &str, value: Option<i64>) {
        if let Some(v) = value {
            self.conditions.push(format!("{column} = ${}", self.next()));
            self.values.push(Value::Int(v));
        }
    }

    pub(crate) fn eq_str(&mut self, column: &str, value: Option<&'a str>) {
        if let Some(v) = value {
            self.conditions.push(format!("{column} = ${}", self.next()));
            self.values.push(Value::Text(v));
        }
    }

    pub(crate) fn at_least(&mut self, column: &str, value: Option<i64>) {
        if let Some(v) = value {
            self.conditions
                .push(format!("{column} >= ${}", self.next()));
            self.values.push(Value::Int(v));
        }
    }

    pub(crate) fn before(&mut self, column: &str, value: Option<i64>) {
        if let Some(v) = value {
            self.conditions.push(format!("{column} < ${}", self.next()));
            self.values.push(Value::Int(v));
        }
    }

    /// A condition with `{}` where the value goes (every `{}` is the same value):
    /// `EXISTS (... c.agent = {})`.
    pub(crate) fn text_condition(&mut self, template: &str, value: Option<&'a str>) {
        if let Some(v) = value {
            self.conditions
                .push(template.replace("{}", &format!("${}", self.next())));
            self.values.push(Value::Text(v));
        }
    }

    /// One condition true when any alternative is: each text alternative a template with
    /// `{}` for its value, each number alternative a column that is one of the numbers.
    /// Nothing when there is no alternative.
    pub(crate) fn any(&mut self, texts: &[(&str, &'a str)], numbers: &[(&str, &[i64])]) {
        let mut alternatives = Vec::new();
        for (template, value) in texts {
            alternatives.push(template.replace("{}", &format!("${}", self.next())));
            self.values.push(Value::Text(value));
        }
        for (column, values) in numbers.iter().filter(|(_, v)| !v.is_empty()) {
            let mut places = Vec::new();
            for value in *values {
                places.push(format!("${}", self.next()));
                self.values.push(Value::Int(*value));
            }
            alternatives.push(format!("{column} IN ({})", places.join(", ")));
        }
        if !alternatives.is_empty() {
            self.conditions
                .push(format!("({})", alternatives.join(" OR ")));
        }
    }

    /// A condition without a value.
    pub(crate) fn raw(&mut self, condition: &str) {
        self.conditions.push(condition.to_owned());
    }

    /// ` LIMIT n OFFSET m` of a list page: 100 rows unless asked, never more than 1,000.
    pub(crate) fn page(limit: Option<u32>, offset: Option<u32>) -> String {
        format!(
            " LIMIT {} OFFSET {}",
            limit.unwrap_or(100).min(1000),
            offset.unwrap_or(0)
        )
    }

    /// ` WHERE a AND b`, or nothing.
    pub(crate) fn sql(&self) -> String {
        if self.conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.conditions.join(" AND "))
        }
    }

    pub(crate) fn bind<'q>(&self, mut query: Query<'q>) -> Query<'q>
    where
        'a: 'q,
    {
        for value in &self.values {
            query = match value {
                Value::Int(v) => query.bind(*v),
                Value::Text(v) => query.bind(*v),
            };
        }
        query
    }
}
