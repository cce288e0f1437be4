package eks

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/internal/sandbox/sandboxtest"
)

// TestListOfferedVersionsAgainstMoto: the versions EKS offers on the
// emulator's calendar day (2025-06-01): 1.26 to 1.33 oldest first, the
// unsupported 1.24 and 1.25 left out, 1.34 not released yet; support
// status per version.
func TestListOfferedVersionsAgainstMoto(t *testing.T) {
	moto := sandboxtest.Moto(t)
	a := NewFromAWS(moto.AWS(), nil, WithPollInterval(10*time.Millisecond))
	got, err := a.ListOfferedVersions(context.Background(), OfferedVersionsInput{Region: moto.Region})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"1.26", "1.27", "1.28", "1.29", "1.30", "1.31", "1.32", "1.33"}
	if !slices.Equal(got.Names(), want) {
		t.Fatalf("offered %v, want %v", got.Names(), want)
	}
	if got.Newest() != "1.33" || !got.Offers("1.30") || got.Offers("1.25") || got.Offers("1.34") {
		t.Errorf("newest %s, offers 1.30 %v, 1.25 %v, 1.34 %v", got.Newest(), got.Offers("1.30"), got.Offers("1.25"), got.Offers("1.34"))
	}
	for _, v := range got.Versions {
		want := "STANDARD_SUPPORT"
		if v.Version <= "1.29" {
			want = "EXTENDED_SUPPORT"
		}
		if v.Status != want || v.EndOfStandardSupport == "" {
			t.Errorf("%s: status %s (want %s), end of standard support %q", v.Version, v.Status, want, v.EndOfStandardSupport)
		}
	}
}
