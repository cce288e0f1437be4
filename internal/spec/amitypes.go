package spec

// amiTypeRetirements is when EKS stops publishing an AMI type and what
// replaces it. Source: "Amazon EKS AL2 AMI deprecation FAQs"
// (https://docs.aws.amazon.com/eks/latest/userguide/eks-ami-deprecation-faqs.html):
// EKS publishes no Amazon Linux 2 AMIs for Kubernetes 1.33 and later;
// AL2023 is the successor (the NVIDIA variant for GPU nodes).
var amiTypeRetirements = []struct {
	AMIType, Successor string
	// LastMinor is the last Kubernetes 1.<minor> that offers AMIType.
	LastMinor int
}{
	{"AL2_x86_64", "AL2023_x86_64_STANDARD", 32},
	{"AL2_x86_64_GPU", "AL2023_x86_64_NVIDIA", 32},
	{"AL2_ARM_64", "AL2023_ARM_64_STANDARD", 32},
}

// AMITypeSuccessor reports whether EKS offers no AMIs of amiType at
// Kubernetes version target, and the AMI type that replaces it then ("" when
// none does).
func AMITypeSuccessor(amiType, target string) (successor string, gone bool) {
	minor, ok := MinorVersion(target)
	if !ok {
		return "", false
	}
	for _, r := range amiTypeRetirements {
		if r.AMIType == amiType && minor > r.LastMinor {
			return r.Successor, true
		}
	}
	return "", false
}

// AMITypeSuccessorOf is the AMI type that replaces amiType once EKS stops
// publishing it ("" when amiType is not being retired).
func AMITypeSuccessorOf(amiType string) string {
	for _, r := range amiTypeRetirements {
		if r.AMIType == amiType {
			return r.Successor
		}
	}
	return ""
}
