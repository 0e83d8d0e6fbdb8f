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

	msgTitlePortalEvents        = "title.portal.events"
	msgTitlePortalNotifications = "title.portal.notifications"
	msgTitlePortalOrganisation  = "title.portal.organisation"
	msgPortalTeamOnly           = "portal.error.team"
	msgPortalNoOrganisation     = "portal.error.noorg"
	msgPortalRequestBad         = "portal.error.request"
	msgDoneRequest              = "done.request"
)

const (
	msgSearchFQDN = "search.error.fqdn"
	msgSearchURL  = "search.error.url"
	msgSearchOrg  = "search.error.org"
)

// The constituency and notification pages.
const (
	msgTitleConstituency         = "title.constituency"
	msgTitleOrganisation         = "title.organisation"
	msgTitleOrganisationNew      = "title.organisation.new"
	msgTitleOrganisationDelete   = "title.organisation.delete"
	msgTitleImport               = "title.constituency.import"
	msgTitleChangeRequests       = "title.changerequests"
	msgTitlePolicy               = "title.policy"
	msgTitleDefaultPolicy        = "title.policy.default"
	msgTitleNotifications        = "title.notifications"
	msgTitleNotificationSettings = "title.notifications.settings"
	msgTitleNotificationTemplate = "title.notifications.template"
	msgTitleTeamKey              = "title.teamkey"

	msgFormTooLarge = "error.toolarge"

	msgLookupBad        = "lookup.error"
	msgLookupRulePrefix = "lookup.rule.prefix"
	msgLookupRuleASN    = "lookup.rule.asn"
	msgLookupRuleDomain = "lookup.rule.domain"

	msgOrganisationInvalid = "org.error.summary"
	msgHandleTaken         = "org.error.handle.taken"
	msgHandleTakenBy       = "org.error.handle.takenby"
	msgHandleRetired       = "org.error.handle.retired"
	msgNetworkTaken        = "org.error.network.taken"
	msgASNTaken            = "org.error.asn.taken"
	msgDomainTaken         = "org.error.domain.taken"
	msgDeleteConfirm       = "org.delete.error.confirm"
	msgDeleteHasUsers      = "org.delete.error.users"

	msgKeyUsable      = "key.usable"
	msgKeyUsableUntil = "key.usable.until"
	msgKeyExpired     = "key.expired"
	msgKeyUnusable    = "key.unusable"

	msgPolicyInvalid = "policy.error.summary"

	msgTemplateError       = "template.error"
	msgTemplateErrorLine   = "template.error.line"
	msgTemplatePartBody    = "template.part.body"
	msgTemplatePartSubject = "template.part.subject"
	msgTemplateRefused     = "template.error.refused"
	msgTemplateTooLarge    = "template.error.toolarge"

	msgImportNoFile     = "import.error.nofile"
	msgImportFormat     = "import.error.format"
	msgImportInvalid    = "import.error.invalid"
	msgImportUnreadable = "import.error.unreadable"
	msgImportExpired    = "import.error.expired"
	msgImportChanged    = "import.error.changed"

	msgTeamKeyBroken          = "teamkey.error.broken"
	msgTeamKeyConfirm         = "teamkey.error.confirm"
	msgTeamKeyName            = "teamkey.error.name"
	msgTeamKeyEmail           = "teamkey.error.email"
	msgTeamKeyImportBad       = "teamkey.error.import"
	msgTeamKeyPassphrase      = "teamkey.error.passphrase"
	msgTeamKeyWrongPassphrase = "teamkey.error.wrongpassphrase"
	msgTeamKeyExpired         = "teamkey.error.expired"
	msgTeamKeyRevoked         = "teamkey.error.revoked"
	msgTeamKeyCannotSign      = "teamkey.error.cannotsign"
	msgTeamKeyCannotEncrypt   = "teamkey.error.cannotencrypt"

	msgUserOrgNeeded  = "users.error.org.needed"
	msgUserOrgTeam    = "users.error.org.team"
	msgUserOrgUnknown = "users.error.org.unknown"

	msgDoneOrganisation        = "done.organisation"
	msgDoneOrganisationDeleted = "done.organisation.deleted"
	msgDonePolicy              = "done.policy"
	msgDonePolicyDefault       = "done.policy.default"
	msgDoneRequestHandled      = "done.request.handled"
	msgDoneImport              = "done.import"
	msgDoneTemplate            = "done.template"
	msgDoneTemplateReverted    = "done.template.reverted"
	msgDoneIdentity            = "done.identity"
)

// Message IDs of the second factor's changes (issue 8).
const (
	msgReauthFailed      = "account.error.reauth"
	msgDoneRecoveryCodes = "done.recovery.codes"
)

// Issue 11 (orgs): deleting accounts, disabling organisations.
const (
	msgUserDeleteSelf      = "users.error.delete.self"
	msgUserDeleteLastAdmin = "users.error.delete.lastadmin"
	msgDoneUserDeleted     = "done.user.deleted"

	msgDoneOrganisationDisabled  = "done.organisation.disabled"
	msgDoneOrganisationEnabled   = "done.organisation.enabled"
	msgLoginOrganisationDisabled = "login.error.orgdisabled"
)

// Message IDs of the saved searches (issue 11).
const (
	msgSavedNotYours = "saved.error.notyours"

	msgDoneSaved        = "done.saved"
	msgDoneSavedChanged = "done.saved.changed"
	msgDoneSavedDeleted = "done.saved.deleted"
)
