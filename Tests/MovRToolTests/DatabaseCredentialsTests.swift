import Foundation
import MovRDevTools
import MovRPostgres
@testable import MovRTool
import Testing

/// The credentials `movr up` gives the database roles: SCRAM verifiers, password files, and
/// service URLs that name each role's own files (docs/operations.md, "Databases and migrations").
@Suite struct DatabaseCredentialsTests {
    /// Expected value computed independently with Python's hashlib/hmac (PBKDF2-HMAC-SHA256,
    /// 4096 iterations; RFC 7677's example password and salt).
    @Test func scramVerifierMatchesAnIndependentComputation() throws {
        let salt = try #require(Data(base64Encoded: "W22ZaJ0SNY7soEsUEjb6gQ=="))
        let verifier = try SCRAMVerifier.make(password: "pencil", salt: Array(salt))
        #expect(verifier == "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY="
                + ":wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=")
        #expect(SCRAMVerifier.isWellFormed(verifier))
        // A fresh salt each time: two verifiers of one password differ.
        #expect(try SCRAMVerifier.make(password: "pencil") != SCRAMVerifier.make(password: "pencil"))
        #expect(throws: (any Error).self) { try SCRAMVerifier.make(password: "new\nline") }
        #expect(!SCRAMVerifier.isWellFormed("SCRAM-SHA-256$4096:abc$def:gh'; DROP ROLE x; --"))
        #expect(!SCRAMVerifier.isWellFormed("md5abc"))
    }

    @Test func passwordFilesAreMadeOnceWithMode0600() throws {
        let directory = NSTemporaryDirectory() + "movr-pgpass-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/movr_users.pgpass"
        let password = try LocalPostgresCluster.createPasswordFile(at: path, role: "movr_users")
        #expect(password.count == 64 && password.allSatisfy(\.isHexDigit))
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "*:*:*:movr_users:\(password)\n")
        #expect(try LocalPostgresCluster.createPasswordFile(at: path, role: "movr_users") == password)
        #expect(try LocalPostgresCluster.readPassword(fromPasswordFile: path, role: "movr_users") == password)
        #expect(throws: PostgresError.self) { try LocalPostgresCluster.readPassword(fromPasswordFile: path, role: "postgres") }
        // Another role in the same file name gets no password of the first.
        let other = try LocalPostgresCluster.createPasswordFile(at: directory + "/movr_rides.pgpass", role: "movr_rides")
        #expect(other != password)
    }

    @Test func serviceURLsNameTheRolesOwnCredentialFiles() {
        let local = "postgresql://postgres@127.0.0.1:8540/postgres?passfile=/s/.movr/secrets/postgres.pgpass"
        #expect(DatabaseSetup.serviceURL(superuserURL: local, database: .users)
                == "postgresql://movr_users@127.0.0.1:8540/movr_users?passfile=/s/.movr/secrets/movr_users.pgpass")
        #expect(DatabaseSetup.passwordFile(of: local) == "/s/.movr/secrets/postgres.pgpass")
        // A path with a space stays encoded, and the other parameters stay as they were.
        let spaced = "postgresql://postgres@127.0.0.1:1/postgres?sslmode=disable&passfile=/a%20b/postgres.pgpass"
        #expect(DatabaseSetup.serviceURL(superuserURL: spaced, database: .rides)
                == "postgresql://movr_rides@127.0.0.1:1/movr_rides?sslmode=disable&passfile=/a%20b/movr_rides.pgpass")
        // CockroachDB: root's client certificate becomes the role's, on every host of the list.
        let cockroach = "postgresql://root@n1:26257,n2:26257/defaultdb?sslmode=verify-full&sslrootcert=/run/movr/ca.crt"
            + "&sslcert=/run/movr/client.root.crt&sslkey=/run/movr/client.root.key"
        #expect(DatabaseSetup.serviceURL(superuserURL: cockroach, database: .vehicles)
                == "postgresql://movr_vehicles@n1:26257,n2:26257/movr_vehicles?sslmode=verify-full&sslrootcert=/run/movr/ca.crt"
                + "&sslcert=/run/movr/client.movr_vehicles.crt&sslkey=/run/movr/client.movr_vehicles.key")
    }
}
