package csaf

// The JSON shape of the CSAF 2.0 documents this package writes and
// reads: the parts Vigil uses, in the standard's field names.

type advisory struct {
	Document        docMeta         `json:"document"`
	ProductTree     *productTree    `json:"product_tree,omitempty"`
	Vulnerabilities []vulnerability `json:"vulnerabilities,omitempty"`
}

type docMeta struct {
	Category          string        `json:"category"`
	CSAFVersion       string        `json:"csaf_version"`
	Title             string        `json:"title"`
	Lang              string        `json:"lang,omitempty"`
	Publisher         publisher     `json:"publisher"`
	Tracking          tracking      `json:"tracking"`
	Distribution      *distribution `json:"distribution,omitempty"`
	AggregateSeverity *severityText `json:"aggregate_severity,omitempty"`
	Notes             []note        `json:"notes,omitempty"`
	References        []reference   `json:"references,omitempty"`
}

type publisher struct {
	Category         string `json:"category"`
	Name             string `json:"name"`
	Namespace        string `json:"namespace"`
	ContactDetails   string `json:"contact_details,omitempty"`
	IssuingAuthority string `json:"issuing_authority,omitempty"`
}

type tracking struct {
	ID                 string     `json:"id"`
	Status             string     `json:"status"`
	Version            string     `json:"version"`
	InitialReleaseDate string     `json:"initial_release_date"`
	CurrentReleaseDate string     `json:"current_release_date"`
	RevisionHistory    []revision `json:"revision_history"`
	Generator          *generator `json:"generator,omitempty"`
}

type revision struct {
	Date    string `json:"date"`
	Number  string `json:"number"`
	Summary string `json:"summary"`
}

type generator struct {
	Date   string `json:"date,omitempty"`
	Engine engine `json:"engine"`
}

type engine struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
}

type distribution struct {
	Text string `json:"text,omitempty"`
	TLP  *tlp   `json:"tlp,omitempty"`
}

type tlp struct {
	Label string `json:"label"`
	URL   string `json:"url,omitempty"`
}

type severityText struct {
	Namespace string `json:"namespace,omitempty"`
	Text      string `json:"text"`
}

type note struct {
	Category string `json:"category"`
	Text     string `json:"text"`
	Title    string `json:"title,omitempty"`
}

type reference struct {
	Category string `json:"category,omitempty"`
	Summary  string `json:"summary"`
	URL      string `json:"url"`
}

type productTree struct {
	Branches         []branch       `json:"branches,omitempty"`
	FullProductNames []product      `json:"full_product_names,omitempty"`
	Relationships    []relationship `json:"relationships,omitempty"`
}

type relationship struct {
	Category                  string  `json:"category"`
	FullProductName           product `json:"full_product_name"`
	ProductReference          string  `json:"product_reference"`
	RelatesToProductReference string  `json:"relates_to_product_reference"`
}

type branch struct {
	Category string   `json:"category"`
	Name     string   `json:"name"`
	Branches []branch `json:"branches,omitempty"`
	Product  *product `json:"product,omitempty"`
}

type product struct {
	Name   string  `json:"name"`
	ID     string  `json:"product_id"`
	Helper *helper `json:"product_identification_helper,omitempty"`
}

type helper struct {
	CPE  string `json:"cpe,omitempty"`
	PURL string `json:"purl,omitempty"`
}

type vulnerability struct {
	CVE           string         `json:"cve,omitempty"`
	CWE           *cwe           `json:"cwe,omitempty"`
	Title         string         `json:"title,omitempty"`
	Notes         []note         `json:"notes,omitempty"`
	Scores        []score        `json:"scores,omitempty"`
	ProductStatus *productStatus `json:"product_status,omitempty"`
	Remediations  []remediation  `json:"remediations,omitempty"`
	References    []reference    `json:"references,omitempty"`
}

type cwe struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type score struct {
	Products []string `json:"products"`
	CVSSv3   *cvssV3  `json:"cvss_v3,omitempty"`
}

type cvssV3 struct {
	Version      string  `json:"version"`
	VectorString string  `json:"vectorString"`
	BaseScore    float64 `json:"baseScore"`
	BaseSeverity string  `json:"baseSeverity"`
}

type productStatus struct {
	FirstAffected      []string `json:"first_affected,omitempty"`
	FirstFixed         []string `json:"first_fixed,omitempty"`
	Fixed              []string `json:"fixed,omitempty"`
	KnownAffected      []string `json:"known_affected,omitempty"`
	KnownNotAffected   []string `json:"known_not_affected,omitempty"`
	LastAffected       []string `json:"last_affected,omitempty"`
	Recommended        []string `json:"recommended,omitempty"`
	UnderInvestigation []string `json:"under_investigation,omitempty"`
}

type remediation struct {
	Category   string   `json:"category"`
	Details    string   `json:"details"`
	ProductIDs []string `json:"product_ids,omitempty"`
	GroupIDs   []string `json:"group_ids,omitempty"`
}
