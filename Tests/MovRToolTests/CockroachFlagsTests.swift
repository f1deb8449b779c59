import Foundation
import MovRLocality
import MovRPostgres
@testable import MovRTool
import MovRVehicles
import Testing

/// The CockroachDB SQL and URLs, pinned: no CockroachDB can run on these machines, so these
/// texts are what was checked (against CockroachDB's documentation), not executed.
@Suite struct CockroachFlagsTests {
    static var locality: Locality { get throws { try DeploymentFilesTests.locality } }

    @Test func regionsDefaultToTheLocalityMapAndExplicitOnesAreValidated() throws {
        let locality = try Self.locality
        let defaults = CockroachSchema.RegionPlan(locality: locality)
        #expect(defaults.primary == "us-east1")
        #expect(defaults.regions == ["us-east1", "us-central1", "us-west1", "europe-west1"])
        let explicit = try CockroachSchema.RegionPlan(locality: locality, regions: ["us-east1", "europe-west1"],
                                                      primary: "europe-west1")
        #expect(explicit.regions == ["europe-west1", "us-east1"])
        #expect(try CockroachSchema.RegionPlan(locality: locality, regions: ["us-west1"], primary: nil).primary == "us-west1")
        #expect(throws: StackError.self) {
            try CockroachSchema.RegionPlan(locality: locality, regions: ["mars-north1"], primary: nil)
        }
        #expect(throws: StackError.self) {
            try CockroachSchema.RegionPlan(locality: locality, regions: ["us-east1"], primary: "us-west1")
        }
        #expect(throws: StackError.self) {
            try CockroachSchema.RegionPlan(locality: locality, regions: ["us-east1", "us-east1"], primary: nil)
        }
    }

    @Test func explicitRegionsShapeTheDatabaseAndTheComputedRegion() throws {
        let locality = try Self.locality
        let plan = try CockroachSchema.RegionPlan(locality: locality, regions: ["us-east1", "europe-west1"],
                                                  primary: "europe-west1")
        #expect(CockroachSchema.createDatabase(.vehicles, plan: plan, survival: .zone) == """
            CREATE DATABASE IF NOT EXISTS movr_vehicles PRIMARY REGION "europe-west1" REGIONS "us-east1";
            ALTER DATABASE movr_vehicles SURVIVE ZONE FAILURE;
            CREATE USER IF NOT EXISTS movr_vehicles;
            GRANT ALL ON DATABASE movr_vehicles TO movr_vehicles;
            """)
        // Cities of regions the database lacks live in its primary region.
        #expect(CockroachSchema.regionExpression(locality: locality, plan: plan) == """
            CASE WHEN city IN ('new york', 'boston', 'washington dc') THEN 'us-east1' \
            WHEN city IN ('chicago', 'detroit', 'minneapolis', 'san francisco', 'seattle', 'los angeles', 'amsterdam', 'paris', 'rome') \
            THEN 'europe-west1' ELSE 'europe-west1' END
            """)
        let ddl = CockroachSchema.ddl(for: .vehicles, locality: locality, plan: plan)
        #expect(ddl.contains("-- not a database region: rows of chicago, detroit, minneapolis, san francisco, seattle, los angeles live in europe-west1"))
    }

    @Test func theMigrateCommandTakesTheFlags() async throws {
        let output = try SchemaPrinter.ddl(dialect: .cockroach, locality: try Self.locality,
                                           plan: try CockroachSchema.RegionPlan(locality: try Self.locality,
                                                                                regions: ["us-west1", "us-east1"],
                                                                                primary: "us-west1"),
                                           hosts: ["node1.example.com:26257", "node2.example.com:26257"])
        #expect(output.contains(#"CREATE DATABASE IF NOT EXISTS movr_rides PRIMARY REGION "us-west1" REGIONS "us-east1";"#))
        #expect(output.contains("-- MOVR_DATABASE_URL of the rides service: postgresql://movr_rides@node1.example.com:26257,"
                                + "node2.example.com:26257/movr_rides?sslmode=verify-full&target_session_attrs=read-write&connect_timeout=5"))
        #expect(throws: StackError.self) {
            try SchemaPrinter.ddl(dialect: .cockroach, locality: try Self.locality, hosts: ["node1;drop:1"])
        }
    }

    @Test func multiHostURLsKeepTheirHostsForEveryService() throws {
        #expect(DatabaseSetup.serviceURL(superuserURL: "postgresql://root@a.example:26257,b.example:26257/defaultdb?sslmode=verify-full",
                                         database: .vehicles)
                == "postgresql://movr_vehicles@a.example:26257,b.example:26257/movr_vehicles?sslmode=verify-full")
        #expect(DatabaseSetup.serviceURL(superuserURL: "postgresql://a:1,b:2", database: .users)
                == "postgresql://movr_users@a:1,b:2/movr_users")
        // One host: unchanged behaviour.
        #expect(DatabaseSetup.serviceURL(superuserURL: "postgresql://postgres@127.0.0.1:8540/postgres", database: .rides)
                == "postgresql://movr_rides@127.0.0.1:8540/movr_rides")
    }

    @Test func followerReadsAddAsOfSystemTimeToTheListQuery() {
        let plain = VehiclesStore.firstPageQuery(city: "rome", limit: 10).sql
        let follower = VehiclesStore.firstPageQuery(city: "rome", limit: 10, followerReads: true).sql
        #expect(!plain.contains("AS OF SYSTEM TIME"))
        #expect(follower == plain.replacingOccurrences(
            of: "FROM vehicles\n", with: "FROM vehicles AS OF SYSTEM TIME follower_read_timestamp()\n"))
        #expect(follower.contains("FROM vehicles AS OF SYSTEM TIME follower_read_timestamp()\nWHERE status = 'available' AND city = $1"))
    }
}
