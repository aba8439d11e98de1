//! Time literals compared with timestamps: a date literal is read as
//! midnight, and the end of a literal's period is another literal, so that
//! both bounds are read in the query's time zone as the reference reads
//! them.

use super::ir::{Eval, Expr, ExprKind, Literal};
use super::types::{DataType, Timeframe};

/// Returns `value` as a timestamp literal when it is a date literal compared
/// with the timestamp `subject`, and `value` unchanged otherwise.
pub fn aligned_with(subject: &Expr, value: Expr) -> Expr {
    let (DataType::Timestamp(_), ExprKind::Literal(Literal::Date(day)), DataType::Date(unit)) =
        (&subject.ty, &value.kind, &value.ty)
    else {
        return value;
    };
    Expr::literal(
        Literal::Timestamp(format!("{day} 00:00:00")),
        DataType::Timestamp(*unit),
    )
}

/// Returns the literal that starts the period after the one `start` begins,
/// for a date or timestamp literal and a unit of a day or longer.
pub fn next_period_literal(start: &Expr, unit: Timeframe) -> Option<Expr> {
    let ExprKind::Literal(literal) = &start.kind else {
        return None;
    };
    let (text, is_date) = match literal {
        Literal::Date(text) => (text, true),
        Literal::Timestamp(text) => (text, false),
        _ => return None,
    };
    let (day, time) = text.split_at(text.find(' ').unwrap_or(text.len()));
    let mut parts = day.split('-').map(|part| part.parse::<i64>().ok());
    let (year, month, day_of_month) = (parts.next()??, parts.next()??, parts.next()??);
    let (year, month, day_of_month) = match unit {
        Timeframe::Year => (year + 1, month, day_of_month),
        Timeframe::Quarter => add_months(year, month, day_of_month, 3),
        Timeframe::Month => add_months(year, month, day_of_month, 1),
        Timeframe::Week => civil_from_days(days_from_civil(year, month, day_of_month) + 7),
        Timeframe::Day => civil_from_days(days_from_civil(year, month, day_of_month) + 1),
        Timeframe::Hour | Timeframe::Minute | Timeframe::Second => return None,
    };
    let next = format!("{year:04}-{month:02}-{day_of_month:02}{time}");
    let literal = if is_date {
        Literal::Date(next)
    } else {
        Literal::Timestamp(next)
    };
    Some(Expr::new(
        ExprKind::Literal(literal),
        start.ty.without_timeframe(),
        Eval::Scalar,
    ))
}

/// Adds months to a period start, which is always the first of a month
/// for month and quarter literals.
fn add_months(year: i64, month: i64, day: i64, months: i64) -> (i64, i64, i64) {
    let index = year * 12 + (month - 1) + months;
    (index.div_euclid(12), index.rem_euclid(12) + 1, day)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let shifted_month = (month + 9) % 12;
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date of a count of days since 1970-01-01 (inverse of
/// [`days_from_civil`]).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + if month <= 2 { 1 } else { 0 };
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str, unit: Timeframe) -> Expr {
        Expr::literal(Literal::Date(text.into()), DataType::Date(Some(unit)))
    }

    fn next_text(start: &Expr, unit: Timeframe) -> String {
        match next_period_literal(start, unit).map(|e| e.kind) {
            Some(ExprKind::Literal(Literal::Date(text) | Literal::Timestamp(text))) => text,
            other => panic!("no literal: {other:?}"),
        }
    }

    #[test]
    fn next_period_crosses_boundaries() {
        assert_eq!(
            next_text(&date("2024-02-28", Timeframe::Day), Timeframe::Day),
            "2024-02-29"
        );
        assert_eq!(
            next_text(&date("2023-02-28", Timeframe::Day), Timeframe::Day),
            "2023-03-01"
        );
        assert_eq!(
            next_text(&date("2023-12-31", Timeframe::Day), Timeframe::Day),
            "2024-01-01"
        );
        assert_eq!(
            next_text(&date("2023-12-31", Timeframe::Week), Timeframe::Week),
            "2024-01-07"
        );
        assert_eq!(
            next_text(&date("2023-12-01", Timeframe::Month), Timeframe::Month),
            "2024-01-01"
        );
        assert_eq!(
            next_text(&date("2023-10-01", Timeframe::Quarter), Timeframe::Quarter),
            "2024-01-01"
        );
        assert_eq!(
            next_text(&date("2023-01-01", Timeframe::Year), Timeframe::Year),
            "2024-01-01"
        );
    }

    #[test]
    fn date_literal_aligns_with_timestamp() {
        let subject = Expr::literal(
            Literal::Timestamp("2023-01-01 00:00:00".into()),
            DataType::Timestamp(None),
        );
        let aligned = aligned_with(&subject, date("2023-03-01", Timeframe::Day));
        assert!(matches!(
            aligned.kind,
            ExprKind::Literal(Literal::Timestamp(ref text)) if text == "2023-03-01 00:00:00"
        ));
        assert_eq!(aligned.ty, DataType::Timestamp(Some(Timeframe::Day)));
    }
}
