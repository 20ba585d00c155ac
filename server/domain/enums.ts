/** The shared words of the domain, used by every layer (core excepted: it takes plain strings). */
export type OrgKind = 'operator' | 'forwarder' | 'scheduler' | 'platform';
export type Role = 'admin' | 'member';
export type Mode = 'rail' | 'barge';
export type ListingFormat = 'fixed' | 'ascending' | 'sealed' | 'falling';
export type LedgerAccountKind = 'forwarder_payable' | 'operator_receivable' | 'platform_revenue' | 'escrow';
