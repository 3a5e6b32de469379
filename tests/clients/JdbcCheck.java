import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.text.MessageFormat;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * pgjdbc against a running RusTs holding the data set of rusts_server.py: Statement and
 * PreparedStatement queries with exact values (text format first, binary once the statement
 * is server-prepared), result and database metadata, setFetchSize with autocommit off (portals
 * with row limits, PortalSuspended), and SQLSTATEs. Started by jdbc_check.py; exits 1 on any
 * mismatch.
 *
 * <p>usage: java -cp postgresql.jar:DIR JdbcCheck HOST PORT
 */
public final class JdbcCheck {
    /** CPU_QUERY's rows as "instant|host|usage|count|ok|note", Java class names after values. */
    private static final List<String> CPU_ROWS = List.of(
        "1969-12-31T23:59:59.999999Z|c:String|-1.7976931348623157E308:Double"
            + "|9223372036854775807:Long|false:Boolean|:String",
        "2023-11-14T22:13:20.123456Z|a:String|10.5:Double|1:Long|true:Boolean|first:String",
        "2023-11-14T22:13:20.123456Z|b:String|20.25:Double|-9007199254740993:Long"
            + "|false:Boolean|second \"quoted\":String",
        "2023-11-14T22:13:30.000001Z|a:String|0.1:Double|3:Long|true:Boolean|third:String",
        "2023-11-14T22:13:40Z|d:String|0.5:Double|null|null|null");
    private static final String CPU_QUERY =
        "SELECT time, host, usage, count, ok, note FROM cpu ORDER BY time, host";
    /** pgjdbc's default prepareThreshold: from this execution on, a named statement. */
    private static final int PREPARE_THRESHOLD = 5;

    private final List<String> failed = new ArrayList<>();
    private int passed;

    private void expect(String what, Object got, Object wanted) {
        if (Objects.equals(got, wanted)) {
            passed++;
            System.out.println("ok: " + what);
            return;
        }
        failed.add(what);
        System.out.println("FAIL: " + what + ": expected\n  " + wanted + "\ngot\n  " + got);
    }

    private interface Section {
        void run() throws Exception;
    }

    /** An exception inside fails `what` and lets the next section run. */
    private void section(String what, Section section) {
        try {
            section.run();
        } catch (Exception error) {
            failed.add(what);
            System.out.println("FAIL: " + what + ": raised " + error);
        }
    }

    private static String value(Object value) {
        return value == null ? "null" : value + ":" + value.getClass().getSimpleName();
    }

    /** One CPU_QUERY row in CPU_ROWS's form. */
    private static String cpuRow(ResultSet rows) throws SQLException {
        OffsetDateTime time = rows.getObject(1, OffsetDateTime.class);
        Timestamp timestamp = rows.getTimestamp(1);
        String instant = time.toInstant().toString();
        if (!timestamp.toInstant().toString().equals(instant)) {
            instant += " (getTimestamp: " + timestamp.toInstant() + ")";
        }
        return instant + "|" + value(rows.getObject(2)) + "|" + value(rows.getObject(3))
            + "|" + value(rows.getObject(4)) + "|" + value(rows.getObject(5))
            + "|" + value(rows.getObject(6));
    }

    private static List<String> cpuRows(ResultSet rows) throws SQLException {
        List<String> all = new ArrayList<>();
        while (rows.next()) {
            all.add(cpuRow(rows));
        }
        return all;
    }

    private static List<String> strings(ResultSet rows) throws SQLException {
        List<String> all = new ArrayList<>();
        int columns = rows.getMetaData().getColumnCount();
        while (rows.next()) {
            List<String> row = new ArrayList<>();
            for (int column = 1; column <= columns; column++) {
                row.add(value(rows.getObject(column)));
            }
            all.add(String.join("|", row));
        }
        return all;
    }

    private void checkMetadata(Connection connection) throws SQLException {
        DatabaseMetaData database = connection.getMetaData();
        expect("getDatabaseProductName", database.getDatabaseProductName(), "PostgreSQL");
        String version = database.getDatabaseProductVersion();
        try (Statement statement = connection.createStatement();
             ResultSet rows = statement.executeQuery("SHOW server_version")) {
            rows.next();
            expect("getDatabaseProductVersion is SHOW server_version", version,
                rows.getString(1));
        }
        expect("getDatabaseMajorVersion is the version's major",
            database.getDatabaseMajorVersion(), Integer.parseInt(version.split("\\.")[0]));
        try (Statement statement = connection.createStatement();
             ResultSet rows = statement.executeQuery("SELECT version()")) {
            rows.next();
            expect("version() starts with PostgreSQL and the product version",
                rows.getString(1).startsWith("PostgreSQL " + version), true);
        }
        try (Statement statement = connection.createStatement();
             ResultSet rows = statement.executeQuery("SHOW TimeZone")) {
            rows.next();
            expect("the JVM's time zone reached the session", rows.getString(1),
                java.util.TimeZone.getDefault().getID());
        }
    }

    private void checkStatement(Connection connection) throws SQLException {
        try (Statement statement = connection.createStatement();
             ResultSet rows = statement.executeQuery(CPU_QUERY)) {
            ResultSetMetaData columns = rows.getMetaData();
            List<String> types = new ArrayList<>();
            for (int column = 1; column <= columns.getColumnCount(); column++) {
                types.add(columns.getColumnLabel(column) + " " + columns.getColumnType(column)
                    + " " + columns.getColumnTypeName(column));
            }
            expect("ResultSetMetaData column types", types, List.of(
                "time 93 timestamptz", "host 12 text", "usage 8 float8", "count -5 int8",
                "ok -7 bool", "note 12 text"));
            expect("Statement rows", cpuRows(rows), CPU_ROWS);
        }
        try (Statement statement = connection.createStatement();
             ResultSet rows = statement.executeQuery("SELECT total FROM mem")) {
            expect("unsigned field as numeric", strings(rows),
                List.of("18446744073709551615:BigDecimal"));
        }
    }

    private void checkPrepared(Connection connection) throws SQLException {
        String sql = "SELECT host, count FROM cpu WHERE count >= ? AND usage < ? AND region = ?"
            + " AND time > ? ORDER BY time, host";
        Timestamp after = Timestamp.from(Instant.parse("2023-11-14T22:13:20.123455Z"));
        try (PreparedStatement statement = connection.prepareStatement(sql)) {
            // Past the threshold pgjdbc names the statement and asks for binary results.
            for (int run = 1; run <= PREPARE_THRESHOLD + 2; run++) {
                statement.setInt(1, 1);
                statement.setDouble(2, 20.0);
                statement.setString(3, "eu");
                statement.setTimestamp(4, after);
                try (ResultSet rows = statement.executeQuery()) {
                    expect("PreparedStatement setInt/setDouble/setString/setTimestamp, run "
                        + run, strings(rows), List.of("a:String|1:Long", "a:String|3:Long"));
                }
            }
        }
        try (PreparedStatement statement = connection.prepareStatement(CPU_QUERY)) {
            for (int run = 1; run <= PREPARE_THRESHOLD + 2; run++) {
                try (ResultSet rows = statement.executeQuery()) {
                    expect("PreparedStatement rows, run " + run, cpuRows(rows), CPU_ROWS);
                }
            }
        }
        checkPreparedValues(connection);
    }

    private void checkPreparedValues(Connection connection) throws SQLException {
        try (PreparedStatement statement = connection.prepareStatement(
                "SELECT host FROM cpu WHERE count = ? AND ok = ? AND time = ?")) {
            statement.setLong(1, -9007199254740993L);
            statement.setBoolean(2, false);
            statement.setTimestamp(3,
                Timestamp.from(Instant.parse("2023-11-14T22:13:20.123456Z")));
            try (ResultSet rows = statement.executeQuery()) {
                expect("setLong/setBoolean/setTimestamp with microseconds", strings(rows),
                    List.of("b:String"));
            }
            statement.setNull(1, java.sql.Types.BIGINT);
            try (ResultSet rows = statement.executeQuery()) {
                expect("setNull matches nothing", strings(rows), List.of());
            }
        }
        // pgjdbc declares int4, float8 and varchar in Parse; Postgres gives `SELECT $1` the
        // declared type, so each value comes back as it went in.
        try (PreparedStatement statement = connection.prepareStatement("SELECT ?, ?, ?")) {
            statement.setInt(1, 7);
            statement.setDouble(2, 0.1);
            statement.setString(3, "x'y");
            try (ResultSet rows = statement.executeQuery()) {
                ResultSetMetaData columns = rows.getMetaData();
                List<String> types = new ArrayList<>();
                for (int column = 1; column <= columns.getColumnCount(); column++) {
                    types.add(columns.getColumnTypeName(column));
                }
                // Postgres describes the third column as varchar (setString's declared
                // type); RusTs's string columns are all text: same value, same getString().
                expect("uncast parameters keep their declared types",
                    types + " " + strings(rows),
                    List.of("int4", "float8", "text") + " "
                        + List.of("7:Integer|0.1:Double|x'y:String"));
            }
        }
    }

    /** pgjdbc's protocol trace (its FINEST log lines), to count the messages it sent and got. */
    private static final class ProtocolTrace extends Handler {
        private final List<String> messages = new ArrayList<>();

        @Override
        public synchronized void publish(LogRecord record) {
            String message = record.getMessage();
            if (message != null && record.getParameters() != null) {
                message = MessageFormat.format(message, record.getParameters());
            }
            messages.add(String.valueOf(message).trim());
        }

        synchronized long count(String prefix, String suffix) {
            return messages.stream()
                .filter(message -> message.startsWith(prefix) && message.endsWith(suffix))
                .count();
        }

        synchronized void clear() {
            messages.clear();
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    }

    private void checkFetchSize(Connection connection, ProtocolTrace trace) throws SQLException {
        connection.setAutoCommit(false);
        try (PreparedStatement statement = connection.prepareStatement(CPU_QUERY)) {
            statement.setFetchSize(2);
            trace.clear();
            try (ResultSet rows = statement.executeQuery()) {
                expect("setFetchSize(2) rows", cpuRows(rows), CPU_ROWS);
            }
            // 5 rows, 2 at a time: Execute with limit 2 three times, suspended twice.
            expect("Execute messages with limit=2",
                trace.count("FE=> Execute(portal=C_", ",limit=2)"), 3L);
            expect("PortalSuspended messages", trace.count("<=BE PortalSuspended", ""), 2L);
        } finally {
            connection.commit();
            connection.setAutoCommit(true);
        }
    }

    private void expectSqlState(Connection connection, String sql, String sqlState) {
        try (Statement statement = connection.createStatement()) {
            statement.executeQuery(sql).close();
            expect(sql + " raises " + sqlState, "no error", sqlState);
        } catch (SQLException error) {
            expect(sql + " raises " + sqlState, error.getSQLState(), sqlState);
        }
    }

    private void checkErrors(Connection connection) throws SQLException {
        expectSqlState(connection, "SELECT * FROM nope", "42P01");
        expectSqlState(connection, "SELECT 1/0", "22012");
        expectSqlState(connection, "SELEC 1", "42601");
        try (PreparedStatement statement =
                 connection.prepareStatement("SELECT count / ? FROM cpu")) {
            statement.setLong(1, 0);
            statement.executeQuery().close();
            expect("PreparedStatement division by zero raises 22012", "no error", "22012");
        } catch (SQLException error) {
            expect("PreparedStatement division by zero raises 22012", error.getSQLState(),
                "22012");
        }
        connection.setAutoCommit(false);
        expectSqlState(connection, "SELECT * FROM nope", "42P01");
        expectSqlState(connection, "SELECT 1", "25P02");
        connection.rollback();
        connection.setAutoCommit(true);
        try (Statement statement = connection.createStatement();
             ResultSet rows = statement.executeQuery("SELECT count(*) FROM cpu")) {
            expect("usable after rollback", strings(rows), List.of("5:Long"));
        }
    }

    public static void main(String[] arguments) throws Exception {
        ProtocolTrace trace = new ProtocolTrace();
        Logger driverLogger = Logger.getLogger("org.postgresql");
        driverLogger.setUseParentHandlers(false);
        driverLogger.setLevel(Level.FINEST);
        trace.setLevel(Level.ALL);
        driverLogger.addHandler(trace);

        String url = "jdbc:postgresql://" + arguments[0] + ":" + arguments[1]
            + "/rusts?user=rusts&connectTimeout=10&socketTimeout=60";
        JdbcCheck check = new JdbcCheck();
        // Default sslmode (prefer): pgjdbc sends SSLRequest first and must accept the N.
        try (Connection connection = DriverManager.getConnection(url)) {
            check.section("metadata", () -> check.checkMetadata(connection));
            check.section("Statement", () -> check.checkStatement(connection));
            check.section("PreparedStatement", () -> check.checkPrepared(connection));
            check.section("fetch size", () -> check.checkFetchSize(connection, trace));
            check.section("errors", () -> check.checkErrors(connection));
        }
        System.out.println("\npgjdbc: " + check.passed + " passed, " + check.failed.size()
            + " failed");
        for (String what : check.failed) {
            System.out.println("  failed: " + what);
        }
        System.exit(check.failed.isEmpty() ? 0 : 1);
    }
}
