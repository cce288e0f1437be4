package eks

// Tags cutover puts on what it creates.
const (
	TagManagedBy  = "cutover.dev/managed-by"
	TagMigration  = "cutover.dev/migration"
	TagCopiedFrom = "cutover.dev/copied-from"
	// TagLogicalCluster names the logical cluster (a fleet member, e.g.
	// "shop-prod") a physical cluster cutover built is, quarter after
	// quarter; TagGeneration counts its builds (the original, untagged,
	// is generation 0).
	TagLogicalCluster = "cutover.dev/logical-cluster"
	TagGeneration     = "cutover.dev/generation"
)
