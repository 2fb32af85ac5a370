//! Platform args: `TARGETARCH` and friends come from `[image.x] platform`, so
//! a `FROM` that names a parent by them builds from that platform's parent.

mod common;

use common::buildah::{tools_missing, BuildahProject};

#[test]
fn from_by_targetarch_builds_from_the_platforms_parent() {
    if tools_missing() {
        return;
    }
    let p = BuildahProject::new(
        "[image.base-arm64]\nplatform = \"linux/arm64\"\n\
         [image.base-amd64]\nplatform = \"linux/amd64\"\n\
         [image.app]\nplatform = \"linux/arm64\"\n",
    );
    for arch in ["amd64", "arm64"] {
        p.write(
            &format!("images/base-{arch}/Containerfile"),
            "FROM scratch\nCOPY marker /marker\n",
        );
        p.write(&format!("images/base-{arch}/marker"), arch);
    }
    p.write(
        "images/app/Containerfile",
        "FROM localhost/base-${TARGETARCH}\nCOPY app.conf /app.conf\n",
    );
    p.write("images/app/app.conf", "x\n");
    p.build_all();
    assert_eq!(p.file_in("app", "marker"), "arm64");
}
