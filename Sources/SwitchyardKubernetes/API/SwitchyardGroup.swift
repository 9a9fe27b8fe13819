/// Switchyard's API group: its custom resources and every annotation, label, condition type,
/// finalizer and lease name it writes derive from this one constant.
public enum SwitchyardGroup {
    public static let name = "switchyard.io"
    public static let version = "v1alpha1"
    /// The `spec.loadBalancerClass` Switchyard serves unless configured otherwise.
    public static let defaultLoadBalancerClass = "\(name)/lb"
}
