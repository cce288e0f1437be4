package eks

// Tags cutover puts on what it creates.
const (
	TagManagedBy  = "cutover.dev/managed-by"
	TagMigration  = "cutover.dev/migration"
	TagCopiedFrom = "cutover.dev/copied-from"
	// TagTrustManaged, with the value "true", marks an IAM role whose
	// trust policy cutover may edit (IRSA: green's OIDC issuer added,
	// blue's removed once blue is retired). The IAM policy `cutover
	// iam-policy` generates allows GetRole and UpdateAssumeRolePolicy on
	// such roles only; the operator tags them.
	TagTrustManaged = "cutover.dev/trust-managed"
	// TagLogicalCluster names the logical cluster (a fleet member, e.g.
	// "shop-prod") a physical cluster cutover built is, quarter after
	// quarter; TagGeneration counts its builds (the original, untagged,
	// is generation 0).
	TagLogicalCluster = "cutover.dev/logical-cluster"
	TagGeneration     = "cutover.dev/generation"
)
