package eks

// Tags cutover puts on what it creates.
const (
	TagManagedBy  = "cutover.dev/managed-by"
	TagMigration  = "cutover.dev/migration"
	TagCopiedFrom = "cutover.dev/copied-from"
)
