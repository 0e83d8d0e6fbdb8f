package console

// Message IDs chosen in Go code rather than written in templates. A test
// checks that every msg constant exists in the English catalogue.
const (
	msgErrorHeading     = "error.heading"
	msgErrorInternal    = "error.internal"
	msgForbiddenHeading = "error.forbidden.heading"
	msgForbiddenRole    = "error.forbidden.role"
	msgForbiddenCSRF    = "error.forbidden.csrf"
	msgNotFoundHeading  = "error.notfound.heading"
	msgNotFound         = "error.notfound"

	msgLoginInvalid     = "login.error.invalid"
	msgLoginLocked      = "login.error.locked"
	msgLoginExpired     = "login.error.expired"
	msgSetupBadToken    = "setup.error.token"
	msgPasswordShort    = "password.error.short"
	msgPasswordMismatch = "password.error.mismatch"
	msgPasswordWrong    = "password.error.wrong"
	msgUserNameBad      = "users.error.name"
	msgUserNameTaken    = "users.error.taken"
	msgUserRoleBad      = "users.error.role"
	msgUserSelf         = "users.error.self"
	msgTOTPWrongCode    = "totp.error.code"
	msgTokenNameBad     = "tokens.error.name"
	msgRetryNone        = "deadletters.error.none"
	msgLanguageBad      = "account.error.language"

	msgDonePassword     = "done.password"
	msgDoneLanguage     = "done.language"
	msgDoneTOTPOn       = "done.totp.on"
	msgDoneTOTPOff      = "done.totp.off"
	msgDoneTokenDeleted = "done.token.deleted"
	msgDoneUser         = "done.user"
	msgDoneRetry        = "done.retry"

	msgTitleLogin       = "title.login"
	msgTitleSetup       = "title.setup"
	msgTitleHome        = "title.home"
	msgTitleEvents      = "title.events"
	msgTitleEvent       = "title.event"
	msgTitleDeadLetters = "title.deadletters"
	msgTitleFeeds       = "title.feeds"
	msgTitleUsers       = "title.users"
	msgTitleAudit       = "title.audit"
	msgTitleAccount     = "title.account"

	msgSearchIP       = "search.error.ip"
	msgSearchCIDR     = "search.error.cidr"
	msgSearchASN      = "search.error.asn"
	msgSearchTaxonomy = "search.error.taxonomy"
	msgSearchType     = "search.error.type"
	msgSearchTLP      = "search.error.tlp"
	msgSearchTime     = "search.error.time"
	msgSearchHash     = "search.error.hash"
	msgSearchCursor   = "search.error.cursor"
	msgSearchInvalid  = "search.error.summary"
)

const (
	msgSearchFQDN = "search.error.fqdn"
	msgSearchURL  = "search.error.url"
)
