//! reagent-gentoo
