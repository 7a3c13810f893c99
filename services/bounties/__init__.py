"""The marketplace: bounties, applications, the lifecycle, search, and the reads behind the API.

cards        the read projection every Bounty in the API comes from (one wide query)
queries      lists: bounties (filters, sorts, keyset pages), mine, applications, history
search       filter and sort building for the list
lifecycle    the state machine: compare-and-set transitions, history, after-commit effects
drafting     create, update, images
applications apply, withdraw, accept, reject
delivery     publish, cancel, submit, request changes, approve, disputes, expiry
reviews      ratings once per completed bounty per side
"""
