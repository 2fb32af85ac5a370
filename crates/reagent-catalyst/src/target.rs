//! The catalyst targets a spec can name, and the keys each one requires.
//!
//! The lists follow catalyst's own target classes: every target but `snapshot` is a stage
//! build (catalyst's `StageBase`), which requires `target`, `subarch`, `rel_type`,
//! `version_stamp`, `profile`, `source_subpath` and a portage snapshot (`snapshot_treeish` in
//! catalyst 4, `snapshot` in catalyst 3). Some targets require one more key of their own
//! (`stage4/packages` for `stage4`, ...). The `snapshot` target requires only `target`.

/// Keys every stage target requires, in the order errors report them.
pub const STAGE_REQUIRED: [&str; 6] = [
    "target",
    "subarch",
    "rel_type",
    "version_stamp",
    "profile",
    "source_subpath",
];

/// Keys that must hold exactly one value when present (catalyst uses them as strings, and a
/// list there breaks path building).
pub const SINGLE_VALUED: [&str; 9] = [
    "target",
    "subarch",
    "rel_type",
    "version_stamp",
    "profile",
    "source_subpath",
    "snapshot_treeish",
    "snapshot",
    "compression_mode",
];

use crate::output::OutputKind;

/// One catalyst build target, as named by a spec's `target:` key.
///
/// Catalyst accepts the names with `-` or `_` (`livecd-stage1` and `livecd_stage1`);
/// [`TargetKind::name`] gives the hyphenated form releng specs use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TargetKind {
    /// `stage1`: a fresh root built from a seed stage3.
    Stage1,
    /// `stage2`: a stage1 with the toolchain rebuilt.
    Stage2,
    /// `stage3`: a stage with `@system` built.
    Stage3,
    /// `stage4`: a stage3 plus `stage4/packages`, kernel and customisations.
    Stage4,
    /// `livecd-stage1`: packages for a live CD.
    LivecdStage1,
    /// `livecd-stage2`: kernel and ISO of a live CD.
    LivecdStage2,
    /// `diskimage-stage1`: packages for a disk image.
    DiskimageStage1,
    /// `diskimage-stage2`: kernel and image of a disk image.
    DiskimageStage2,
    /// `embedded`: a `ROOT=` merge into a small root.
    Embedded,
    /// `netboot`: a network-bootable image.
    Netboot,
    /// `snapshot`: a snapshot of the ebuild repository (no stage keys).
    Snapshot,
}

impl TargetKind {
    /// Every target name catalyst knows, hyphenated.
    pub const KNOWN: [&'static str; 11] = [
        "stage1",
        "stage2",
        "stage3",
        "stage4",
        "livecd-stage1",
        "livecd-stage2",
        "diskimage-stage1",
        "diskimage-stage2",
        "embedded",
        "netboot",
        "snapshot",
    ];

    /// The target named `name` (`-` and `_` are the same), or `None` for a name catalyst has
    /// no builder for.
    pub fn from_name(name: &str) -> Option<TargetKind> {
        let normalized = name.replace('_', "-");
        Some(match normalized.as_str() {
            "stage1" => TargetKind::Stage1,
            "stage2" => TargetKind::Stage2,
            "stage3" => TargetKind::Stage3,
            "stage4" => TargetKind::Stage4,
            "livecd-stage1" => TargetKind::LivecdStage1,
            "livecd-stage2" => TargetKind::LivecdStage2,
            "diskimage-stage1" => TargetKind::DiskimageStage1,
            "diskimage-stage2" => TargetKind::DiskimageStage2,
            "embedded" => TargetKind::Embedded,
            "netboot" => TargetKind::Netboot,
            "snapshot" => TargetKind::Snapshot,
            _ => return None,
        })
    }

    /// The hyphenated name, as releng specs write it.
    pub fn name(self) -> &'static str {
        match self {
            TargetKind::Stage1 => "stage1",
            TargetKind::Stage2 => "stage2",
            TargetKind::Stage3 => "stage3",
            TargetKind::Stage4 => "stage4",
            TargetKind::LivecdStage1 => "livecd-stage1",
            TargetKind::LivecdStage2 => "livecd-stage2",
            TargetKind::DiskimageStage1 => "diskimage-stage1",
            TargetKind::DiskimageStage2 => "diskimage-stage2",
            TargetKind::Embedded => "embedded",
            TargetKind::Netboot => "netboot",
            TargetKind::Snapshot => "snapshot",
        }
    }

    /// Whether this is a stage build (everything but `snapshot`): it unpacks
    /// `source_subpath`, needs a snapshot, and has a `produces()` name.
    pub fn is_stage(self) -> bool {
        self != TargetKind::Snapshot
    }

    /// Whether catalyst captures this target's result as a tarball under
    /// `<storedir>/builds/` (the `*-stage2` and `netboot` targets make images instead).
    pub fn captures_tarball(self) -> bool {
        matches!(
            self,
            TargetKind::Stage1
                | TargetKind::Stage2
                | TargetKind::Stage3
                | TargetKind::Stage4
                | TargetKind::LivecdStage1
                | TargetKind::DiskimageStage1
                | TargetKind::Embedded
        )
    }

    /// What a run of this target leaves behind (see [`crate::output`]).
    pub fn output_kind(self) -> OutputKind {
        match self {
            TargetKind::LivecdStage2 => OutputKind::Iso,
            TargetKind::DiskimageStage2 => OutputKind::DiskImage,
            TargetKind::Netboot => OutputKind::Folder,
            _ => OutputKind::StageTarball,
        }
    }

    /// Keys this target requires beyond [`STAGE_REQUIRED`] and the snapshot key.
    pub fn extra_required(self) -> &'static [&'static str] {
        match self {
            TargetKind::Stage4 => &["stage4/packages"],
            TargetKind::LivecdStage1 => &["livecd/packages"],
            // catalyst requires boot/kernel; reagent also requires the image's path, without
            // which catalyst writes nothing (it only warns).
            TargetKind::LivecdStage2 => &["boot/kernel", "livecd/iso"],
            TargetKind::DiskimageStage1 => &["diskimage/packages"],
            TargetKind::DiskimageStage2 => &["boot/kernel", "diskimage/qcow2"],
            TargetKind::Netboot => &["boot/kernel"],
            _ => &[],
        }
    }
}

impl std::fmt::Display for TargetKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_underscores_are_accepted() {
        for name in TargetKind::KNOWN {
            let kind = TargetKind::from_name(name).expect("known name");
            assert_eq!(kind.name(), name);
        }
        assert_eq!(
            TargetKind::from_name("livecd_stage1"),
            Some(TargetKind::LivecdStage1)
        );
        assert_eq!(TargetKind::from_name("stage5"), None);
    }

    #[test]
    fn only_snapshot_is_not_a_stage() {
        assert!(!TargetKind::Snapshot.is_stage());
        assert!(TargetKind::Stage1.is_stage());
        assert!(TargetKind::Stage4.captures_tarball());
        assert!(!TargetKind::LivecdStage2.captures_tarball());
    }
}
