//! Several servers wired together by hand.
