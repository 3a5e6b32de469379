//! PostgreSQL's `DROP DATABASE [IF EXISTS] name [[WITH] (FORCE)]`: sqlparser reads the
//! statement but not its options.

use sqlparser::ast::{ObjectType, Statement};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::Token;

/// Parses `sql` when it is one `DROP DATABASE` statement (`None` when it does not start with
/// `DROP DATABASE`). `FORCE` is accepted; RusTs does not refuse to drop a database other
/// sessions use, so it changes nothing.
pub fn parse_drop_database(sql: &str) -> Option<Result<Statement, ParserError>> {
    let dialect = PostgreSqlDialect {};
    let mut parser = match Parser::new(&dialect).try_with_sql(sql) {
        Ok(parser) => parser,
        Err(error) => return Some(Err(error)),
    };
    if !parser.parse_keywords(&[Keyword::DROP, Keyword::DATABASE]) {
        return None;
    }
    Some(drop_database_rest(&mut parser))
}

fn drop_database_rest(parser: &mut Parser<'_>) -> Result<Statement, ParserError> {
    let if_exists = parser.parse_keywords(&[Keyword::IF, Keyword::EXISTS]);
    let name = parser.parse_object_name(false)?;
    let with = parser.parse_keyword(Keyword::WITH);
    if parser.consume_token(&Token::LParen) {
        loop {
            parser.expect_keyword_is(Keyword::FORCE)?;
            if !parser.consume_token(&Token::Comma) {
                break;
            }
        }
        parser.expect_token(&Token::RParen)?;
    } else if with {
        return parser.expected("( after WITH", parser.peek_token());
    }
    while parser.consume_token(&Token::SemiColon) {}
    if parser.peek_token().token != Token::EOF {
        return parser.expected("end of DROP DATABASE", parser.peek_token());
    }
    Ok(Statement::Drop {
        object_type: ObjectType::Database,
        if_exists,
        names: vec![name],
        cascade: false,
        restrict: false,
        purge: false,
        temporary: false,
        table: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drop_database_takes_postgres_options() {
        for sql in [
            "DROP DATABASE d",
            "drop database if exists d with (force);",
            "DROP DATABASE IF EXISTS d (FORCE)",
        ] {
            let statement = parse_drop_database(sql)
                .expect("a DROP DATABASE")
                .expect(sql);
            let Statement::Drop {
                object_type: ObjectType::Database,
                names,
                ..
            } = statement
            else {
                panic!("{sql}: not a DROP DATABASE");
            };
            assert_eq!(names[0].to_string(), "d");
        }
        assert!(parse_drop_database("DROP TABLE d").is_none());
        assert!(parse_drop_database("SELECT 1").is_none());
        for bad in [
            "DROP DATABASE d WITH",
            "DROP DATABASE d (NOFORCE)",
            "DROP DATABASE d; SELECT 1",
        ] {
            assert!(
                parse_drop_database(bad).expect("recognised").is_err(),
                "{bad}"
            );
        }
    }
}
