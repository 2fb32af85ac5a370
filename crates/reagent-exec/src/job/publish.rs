//! Publishing a build to the registry (the key tag first, then its SBOM when
//! asked for, then the moving tags) and pulling one, checking that it carries
//! the key its tag names.

use reagent_graph::Node;

use super::{Gathered, JobContext, JobError};
use crate::names;

impl JobContext<'_> {
    /// With a registry, push the key tag first, then attach its SBOM (with
    /// `sbom`: under the digest the key tag was pushed as, so a moving tag never
    /// names an image without one), then the moving tags. (The local moving tags
    /// were given with the build, or after its tests.)
    pub(super) fn publish(&self, node: &Node, gathered: &mut Gathered) -> Result<(), JobError> {
        let Some(registry) = self.registry else {
            return Ok(());
        };
        let local = names::local_ref(node);
        let remote = names::remote_ref(registry, node);
        let digest = self
            .backend
            .push_with_digest(&local, &remote, self.cancel)?;
        gathered.registry_refs.push(remote);
        if let Some(format) = self.sbom {
            let attached =
                crate::sbom::attach(self.backend, node, registry, &digest, format, self.cancel)?;
            gathered.registry_refs.extend(attached);
        }
        for tag in names::moving_tags(node) {
            let moving = names::remote_tag(registry, node, &tag);
            self.backend.push(&local, &moving, self.cancel)?;
            gathered.registry_refs.push(moving);
        }
        if let Some(discovery) = &gathered.discovery {
            // The note another machine reads to key this node the same way.
            let k0 = self.graph.key_without_snapshot(node.id);
            let reference = crate::discover::note_ref(registry, node, &k0);
            let json = serde_json::to_string(&discovery.note()).map_err(|e| JobError::Io {
                path: reference.clone().into(),
                source: std::io::Error::other(e),
            })?;
            let mut labels = self.labels(node);
            labels.insert(crate::discover::LABEL_DISCOVERY.to_string(), json);
            self.backend
                .publish_labels(&reference, &labels, self.cancel)?;
            gathered.registry_refs.push(reference);
        }
        Ok(())
    }

    /// Pull the node's key tag and check the image is this node's build.
    pub(super) fn pull(&self, node: &Node, gathered: &mut Gathered) -> Result<(), JobError> {
        let remote = match (self.pull_from.get(&node.id), self.registry) {
            (Some(cached), _) => cached.clone(),
            (None, Some(registry)) => names::remote_ref(registry, node),
            (None, None) => {
                return Err(JobError::Backend(
                    reagent_backend::BackendError::Unreachable("no registry to pull from".into()),
                ))
            }
        };
        let local = names::local_ref(node);
        self.backend
            .pull(&remote, std::slice::from_ref(&local), self.cancel)?;
        // The tag says which key it was pushed for; the label says what the
        // image is. A registry tag overwritten by hand (or by another project
        // with a node of the same name) must not pass for this node's build.
        let key = node.key.hex();
        let carried = self
            .backend
            .inspect(&local)?
            .and_then(|i| i.labels.get(reagent_backend::LABEL_KEY).cloned());
        if carried.as_deref() != Some(key.as_str()) {
            return Err(JobError::Foreign {
                remote,
                expected: key,
                found: carried,
            });
        }
        gathered.registry_refs.push(remote);
        Ok(())
    }
}
